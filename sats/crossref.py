"""The Crossref deposit of an article (schema 5.3.1), made from its JATS file: the titles,
contributors, abstracts, pages and references that the JATS file already carries."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from lxml import etree
from markupsafe import Markup

from .config import Project

NAMESPACE = "http://www.crossref.org/schema/5.3.1"
JATS_NAMESPACE = "http://www.ncbi.nlm.nih.gov/JATS1"  # Crossref's name for JATS elements
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass(frozen=True)
class Deposit:
    """The deposit's head and resource, the metadata's defaults filled in."""

    batch_id: str
    timestamp: int
    depositor: str
    email: str
    registrant: str
    resource: str


def _deposit(project: Project) -> Deposit:
    settings = project.crossref
    assert settings.depositor and settings.email and project.journal.url
    return Deposit(batch_id=settings.batch_id or f"{project.slug}-{project.date.isoformat()}",
                   timestamp=settings.timestamp or int(project.date.strftime("%Y%m%d")) * 1_000_000,
                   depositor=settings.depositor, email=settings.email,
                   registrant=settings.registrant or settings.depositor, resource=project.journal.url)


@dataclass(frozen=True)
class Citation:
    """A reference as Crossref takes it: its DOI, or else its text."""

    key: str
    doi: str | None
    text: str


def missing(project: Project) -> list[str]:
    """The metadata keys a deposit needs that `project` lacks."""
    values = {"doi": project.doi, "journal.url": project.journal.url,  # the page the DOI resolves to
              "crossref.depositor": project.crossref.depositor, "crossref.email": project.crossref.email}
    return [key for key, value in values.items() if not value]


def deposit(project: Project, article: bytes) -> bytes:
    """The deposit of `project`, whose JATS file is `article`."""
    from . import jats, templates  # loaded when a deposit is made: `missing` is on the no-op path

    tree = etree.fromstring(article, etree.XMLParser(resolve_entities=False, no_network=True))
    people, affiliations = jats.contributors(project)
    last_page = tree.findtext("front/article-meta/lpage")
    xml = templates.render(
        "crossref/deposit.xml.j2", project=project, deposit=_deposit(project),
        language=project.lang.split("-")[0], contributors=people, affiliations=affiliations,
        abstracts=[_abstract(element, project.lang) for element in
                   tree.xpath("front/article-meta/abstract | front/article-meta/trans-abstract")],
        last_page=int(last_page) if last_page else None, citations=_citations(tree))
    return bytes(etree.tostring(etree.fromstring(xml.encode()), encoding="utf-8", xml_declaration=True)) + b"\n"


def _abstract(element: etree._Element, lang: str) -> Markup:
    """A JATS abstract as Crossref takes it: in the JATS1 namespace, with its language."""
    abstract = copy.deepcopy(element)
    for node in abstract.iter():
        if isinstance(node.tag, str) and not etree.QName(node).namespace:
            node.tag = f"{{{JATS_NAMESPACE}}}{node.tag}"
    abstract.tag = f"{{{JATS_NAMESPACE}}}abstract"
    abstract.set(XML_LANG, element.get(XML_LANG) or lang.split("-")[0])
    etree.cleanup_namespaces(abstract)
    return Markup(etree.tostring(abstract, encoding="unicode", with_tail=False))


def _citations(tree: etree._Element) -> list[Citation]:
    citations = []
    for ref in tree.iterfind("back/ref-list/ref"):
        mixed = ref.find("mixed-citation")
        text = re.sub(r"\s+", " ", "".join(mixed.itertext())).strip() if mixed is not None else ""
        citations.append(Citation(str(ref.get("id")), ref.findtext("element-citation/pub-id[@pub-id-type='doi']"),
                                  text))
    return citations


# What a deposit must hold, as Crossref's schema 5.3.1 asks (no registry package carries the
# schema itself to validate against): each path must be there.
REQUIRED = ("head/doi_batch_id", "head/timestamp", "head/depositor/depositor_name", "head/depositor/email_address",
            "head/registrant", "body/journal/journal_metadata/full_title", "body/journal/journal_issue",
            "body/journal/journal_article/titles/title", "body/journal/journal_article/publication_date/year",
            "body/journal/journal_article/doi_data/doi", "body/journal/journal_article/doi_data/resource")


def problems(data: bytes) -> list[str]:
    """What a deposit lacks of what Crossref requires, one line each (none: complete)."""
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        return [f"not well-formed XML: {error}"]
    if root.tag != f"{{{NAMESPACE}}}doi_batch" or root.get("version") != "5.3.1":
        return ["not a Crossref 5.3.1 doi_batch"]
    lacking = []
    for path in REQUIRED:
        nodes = root.xpath("/".join(f"c:{step}" for step in path.split("/")), namespaces={"c": NAMESPACE})
        if not nodes or not "".join(nodes[0].itertext()).strip():
            lacking.append(f"no {path}")
    return lacking
