"""The JATS file and the Crossref deposit, built with the editions from the same parse."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, Built, build
from lxml import etree

from sats import crossref, jats, wordcheck
from sats.cli import main
from sats.content import Content

XLINK = "{http://www.w3.org/1999/xlink}href"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
CR = {"c": crossref.NAMESPACE, "jats": crossref.JATS_NAMESPACE,
      "ai": "http://www.crossref.org/AccessIndicators.xsd"}
DEPOSIT_METADATA = """
doi: 10.1234/fixtures.41
crossref:
  depositor: Journal of Test Fixtures
  email: deposits@example.org
"""


def parse(path: Path) -> etree._Element:
    return etree.parse(str(path)).getroot()


@pytest.fixture(scope="session")
def deposited(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The small fixture with what a Crossref deposit needs: an ISSN, a DOI, the article's page, a depositor."""
    folder = tmp_path_factory.mktemp("deposited") / "manuscript"
    shutil.copytree(FIXTURES / "mini", folder)
    metadata = (folder / "metadata.yaml").read_text(encoding="utf-8")
    metadata = metadata.replace("  first-page: 41\n", "  first-page: 41\n  issn: 1234-5679\n"
                                "  url: https://journal.example.org/articles/41\n") + DEPOSIT_METADATA
    (folder / "metadata.yaml").write_text(metadata, encoding="utf-8")
    return build(folder, folder.parent / "dist")


def jats_file(built: Built) -> Path:
    return built.output / built.project.file("jats")


def test_the_first_titles_jats_validates_against_the_official_dtd(first_title: Built) -> None:
    data = jats_file(first_title).read_bytes()
    assert b'"-//NLM//DTD JATS (Z39.96) Journal Publishing DTD v1.1 20151215//EN"' in data
    assert jats.validate(data) == []


def test_a_broken_jats_file_fails_the_dtd(first_title: Built) -> None:
    """The validation can fail: an element the DTD does not allow where it stands."""
    data = jats_file(first_title).read_bytes().replace(b"<volume>", b"<figure/><volume>", 1)
    assert any("figure" in problem for problem in jats.validate(data))


def test_the_first_titles_jats_front_matter(first_title: Built) -> None:
    meta = parse(jats_file(first_title)).find("front/article-meta")
    assert meta.findtext("article-id[@pub-id-type='doi']") == "10.23865/intpol.v79.3393"
    assert meta.findtext("title-group/article-title").startswith("Krigen mot terror")
    translated = meta.find("title-group/trans-title-group")
    assert translated.get(XML_LANG) == "en"
    assert translated.findtext("trans-title") == "The Unsustainable Russia-US Partnership in the War on Terror"
    assert (meta.findtext("fpage"), meta.findtext("lpage")) == ("319", "330")
    assert meta.findtext("contrib-group/contrib/name/surname") == "Wilhelmsen"
    assert meta.find("contrib-group/contrib/xref").get("rid") == meta.find("aff").get("id")
    assert meta.find("pub-date").get("iso-8601-date") == "2021-09-07"
    license_ = meta.find("permissions/license")
    assert license_.findtext("{http://www.niso.org/schemas/ali/1.0/}license_ref") == \
        "https://creativecommons.org/licenses/by/4.0/"
    assert [uri.get(XLINK) for uri in meta.findall("self-uri")] == [first_title.pdf.name, first_title.epub.name]
    assert meta.find("abstract/p").text.startswith("I kjølvannet av terrorangrepene 11. september")
    assert meta.find("trans-abstract").get(XML_LANG) == "en"
    assert [(group.get(XML_LANG), len(group)) for group in meta.findall("kwd-group")] == [("nb-NO", 5), ("en", 5)]


def test_the_first_titles_citations_notes_and_references(first_title: Built) -> None:
    """44 references; each of the 40 citations links each work it cites (48 in all); 3 notes."""
    root = parse(jats_file(first_title))
    refs = root.findall("back/ref-list/ref")
    assert len(refs) == 44
    assert all(ref.find("element-citation") is not None and ref.find("mixed-citation") is not None for ref in refs)
    cited = re.findall(r"@(\w+)", (ROOT / "manuscript" / "article.md").read_text(encoding="utf-8") +
                       (ROOT / "manuscript" / "notes.md").read_text(encoding="utf-8"))
    xrefs = root.findall(".//xref[@ref-type='bibr']")
    assert len(xrefs) == len(cited) == 48
    assert {xref.get("rid") for xref in xrefs} <= {ref.get("id") for ref in refs}
    assert len(root.findall("back/fn-group/fn")) == 3
    assert len(root.findall("body//xref[@ref-type='fn']")) == 3
    assert root.find("body/sec").findtext("title") == "11. september og Russlands partnerskap med USA"


def test_an_element_citation_has_only_the_fields_its_entry_has(first_title: Built) -> None:
    """An entry without a title gets no title; one with a DOI gets it as pub-id."""
    refs = {ref.get("id"): ref.find("element-citation") for ref in parse(jats_file(first_title)).iter("ref")}
    untitled = refs["ref-antonenko2004"]
    assert [child.tag for child in untitled] == ["person-group", "year"]
    with_doi = [citation for citation in refs.values() if citation.find("pub-id") is not None]
    assert with_doi and all(citation.find("pub-id").get("pub-id-type") == "doi" for citation in with_doi)


def test_the_crossref_deposit(deposited: Built) -> None:
    path = deposited.output / deposited.project.file("crossref")
    data = path.read_bytes()
    assert crossref.problems(data) == []
    root = etree.fromstring(data)
    assert root.get("version") == "5.3.1"
    article = root.find("c:body/c:journal/c:journal_article", CR)
    assert root.findtext("c:head/c:depositor/c:email_address", namespaces=CR) == "deposits@example.org"
    assert root.findtext("c:head/c:timestamp", namespaces=CR) == "20240301000000"
    assert root.findtext("c:body/c:journal/c:journal_metadata/c:issn", namespaces=CR) == "1234-5679"
    names = article.findall("c:contributors/c:person_name", CR)
    assert [(name.get("sequence"), name.findtext("c:surname", namespaces=CR)) for name in names] == \
        [("first", "Testwriter"), ("additional", "Second")]
    assert names[0].findtext("c:affiliations/c:institution/c:institution_name", namespaces=CR) == \
        "Institute of Fixtures"
    assert article.find("jats:abstract", CR).get(XML_LANG) == "en"
    assert article.find("jats:abstract/jats:p", CR) is not None
    pages = deposited.output / deposited.project.file("jats")
    lpage = parse(pages).findtext("front/article-meta/lpage")
    assert (article.findtext("c:pages/c:first_page", namespaces=CR),
            article.findtext("c:pages/c:last_page", namespaces=CR)) == ("41", lpage)
    assert article.findtext("c:doi_data/c:doi", namespaces=CR) == "10.1234/fixtures.41"
    assert article.findtext("c:doi_data/c:resource", namespaces=CR) == "https://journal.example.org/articles/41"
    citations = article.findall("c:citation_list/c:citation", CR)
    assert [citation.findtext("c:doi", namespaces=CR) for citation in citations] == ["10.1234/example.5678", None]
    assert citations[1].findtext("c:unstructured_citation", namespaces=CR).startswith("Smith, J. (2020).")


def test_an_incomplete_deposit_names_what_it_lacks(deposited: Built) -> None:
    data = (deposited.output / deposited.project.file("crossref")).read_bytes()
    assert crossref.problems(re.sub(rb"<resource>[^<]*</resource>", b"", data)) == \
        ["no body/journal/journal_article/doi_data/resource"]


def test_a_deposit_without_a_doi_is_one_line_naming_the_keys(manuscript_copy: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "dist"
    assert main(["build", str(manuscript_copy), "-o", str(output), "--edition", "crossref"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("metadata.yaml: the crossref edition needs doi, journal.url, crossref.depositor, "
                            "crossref.email, journal.issn in the metadata")
    assert not output.exists() or not any(output.glob("*.xml"))


def test_a_build_without_an_issn_says_it_makes_no_jats(manuscript_copy: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "dist"
    assert main(["build", str(manuscript_copy), "-o", str(output), "--edition", "pdf"]) == 0
    assert main(["build", str(manuscript_copy), "-o", str(output), "--edition", "jats"]) == 1
    assert capsys.readouterr().err.strip().endswith(
        "metadata.yaml: the jats edition needs journal.issn in the metadata")


def test_jats_and_deposit_are_rebuilt_byte_identical(deposited: Built, tmp_path: Path) -> None:
    again = tmp_path / "again"
    shutil.copytree(deposited.project.root, again)
    assert main(["build", str(again), "-o", str(tmp_path / "dist"), "-q"]) == 0
    for edition in ("jats", "crossref"):
        name = deposited.project.file(edition)
        assert (tmp_path / "dist" / name).read_bytes() == (deposited.output / name).read_bytes()


def test_the_jats_body_has_every_word_in_order(first_title: Built, article: Content) -> None:
    """The word check reads the JATS file too: the abstracts, the body and the notes, in order."""
    expected = wordcheck.expected(article)
    data = jats_file(first_title).read_bytes()
    assert wordcheck.compare(expected, wordcheck.jats_words(data)) == []
    dropped = data.replace(b"Vi gjentok det til", b"Vi det til", 1)
    assert dropped != data
    assert [str(miss) for miss in wordcheck.compare(expected, wordcheck.jats_words(dropped))] == \
        ["body: word 9 «gjentok» is missing"]


@pytest.mark.parametrize(("fixture", "figures", "tables", "formulas"),
                         [("figures-en", 3, 2, 0), ("math", 0, 0, 18)])
def test_figures_tables_and_formulas_in_jats(fixture: str, figures: int, tables: int, formulas: int,
                                              tmp_path: Path) -> None:
    """A fixture with figures and tables, and one with formulas, given an ISSN: valid JATS with
    `fig`, `table-wrap` and MathML formulas, and every word of the manuscript in order."""
    from sats import config, content, manuscript

    folder = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, folder)
    metadata = (folder / "metadata.yaml").read_text(encoding="utf-8")
    (folder / "metadata.yaml").write_text(re.sub(r"(?m)^(  first-page: \d+)$", r"\1\n  issn: 1234-5679", metadata),
                                          encoding="utf-8")
    assert main(["build", str(folder), "-o", str(tmp_path / "dist"), "-q", "--edition", "jats"]) == 0
    project = config.load(folder)
    data = (tmp_path / "dist" / project.file("jats")).read_bytes()
    assert jats.validate(data) == []
    root = etree.fromstring(data)
    assert (len(root.findall(".//fig")), len(root.findall(".//table-wrap"))) == (figures, tables)
    assert len(root.xpath(".//inline-formula | .//disp-formula")) >= formulas
    assert all(formula.find(".//{http://www.w3.org/1998/Math/MathML}math") is not None
               for formula in root.xpath(".//inline-formula | .//disp-formula"))
    article = content.parse(manuscript.read(project))
    assert wordcheck.compare(wordcheck.expected(article), wordcheck.jats_words(data)) == []
