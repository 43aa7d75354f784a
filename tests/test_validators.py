"""The reference validators (veraPDF for PDF/A-2a and PDF/UA-1, DAISY Ace for the EPUB), and the
accessibility of both editions where the validators do not look."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pikepdf
import pytest
from conftest import Built
from lxml import etree

from sats import check, validator
from sats.epub import OPF, XHTML
from sats.finishing import structure_elements

LANGUAGES = ("sv-SE", "nn-NO", "da-DK", "en-US")  # the language fixtures


def test_verapdf_finds_no_failed_rule_in_the_archival_pdfs(verapdf_reports: dict[str, list[str]]) -> None:
    assert verapdf_reports["first_title"] == []
    assert verapdf_reports["mini"] == []
    assert verapdf_reports["figures"] == []  # CMYK and RGB images, a soft mask, an SVG
    assert verapdf_reports["math"] == []  # formulas, tagged /Formula
    assert {name: verapdf_reports[name] for name in LANGUAGES} == {name: [] for name in LANGUAGES}


def test_verapdf_reports_each_claim_a_pdf_does_not_make(verapdf_reports: dict[str, list[str]]) -> None:
    press = verapdf_reports["mini press"]
    assert press[-2:] == ["not validated against PDF/A-2A: the PDF does not claim it",
                          "not validated against PDF/UA-1: the PDF does not claim it"]
    # Without a claim veraPDF falls back on PDF/A-1b, which the press PDF does not meet either.
    assert ("PDF/A-1B ISO 19005-1:2005 clause 6.7.11 test 1: The PDF/A version and conformance level of a "
            "file shall be specified using the PDF/A Identification extension schema (failed checks: 1)") in press


def test_ace_finds_no_violation_in_the_epubs(ace_reports: dict[str, list[str]]) -> None:
    assert ace_reports["first_title"] == []
    assert ace_reports["mini"] == []
    assert ace_reports["figures"] == []
    assert ace_reports["math"] == []  # MathML
    assert {name: ace_reports[name] for name in LANGUAGES} == {name: [] for name in LANGUAGES}


def test_ace_reports_each_document_without_a_language(ace_reports: dict[str, list[str]]) -> None:
    damaged = ace_reports["mini without language"]
    assert damaged and all("html-has-lang (serious) at html" in line for line in damaged), damaged


def test_check_says_which_validators_it_could_not_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(validator, "VERAPDF", tmp_path / "verapdf")
    monkeypatch.setattr(validator, "ACE", tmp_path / "ace" / "node_modules" / ".bin" / "ace-cli")
    runs, notes = check.start_validators(tmp_path / "a.pdf", tmp_path / "a.epub")
    assert runs == []
    assert notes == [f"{tmp_path / 'a.pdf'}: veraPDF not run: veraPDF is not installed in {tmp_path / 'verapdf'}: "
                     "install it with `make validators`",
                     f"{tmp_path / 'a.epub'}: DAISY Ace not run: DAISY Ace is not installed in {tmp_path / 'ace'}: "
                     "install it with `make validators`"]


# What a reading of the files found, and the validators do not look for.

NCX = "http://www.daisy.org/z3986/2005/ncx/"

def _epub_documents(built: Built) -> dict[str, etree._Element]:
    """The EPUB's documents, parsed, by name."""
    with zipfile.ZipFile(built.epub) as archive:
        return {name: etree.fromstring(archive.read(name)) for name in archive.namelist()
                if name.endswith((".xhtml", ".opf", ".ncx"))}


def _kinds(element: pikepdf.Object) -> list[str]:
    """The structure types of the elements right under `element`."""
    kids = element.get("/K")
    return [str(kid.S) for kid in (kids if isinstance(kids, pikepdf.Array) else [kids])
            if isinstance(kid, pikepdf.Dictionary) and "/S" in kid]


def test_each_epub_document_is_titled_by_its_first_heading(first_title: Built) -> None:
    documents = _epub_documents(first_title)
    titles = {name.rsplit("/", 1)[1]: (title.text, title.get("lang"))
              for name, tree in documents.items() for title in tree.iterfind(f"{{{XHTML}}}head/{{{XHTML}}}title")}
    article = first_title.project.title
    assert titles == {
        "ch001.xhtml": (article, None),
        "ch002.xhtml": ("11. september og Russlands partnerskap med USA", None),
        "ch003.xhtml": ("Pragmatisme, ambisjoner og forventninger", None),
        "ch004.xhtml": ("Partnerskapet sporer av (2003–2006)", None),
        "ch005.xhtml": ("Partneren blir den egentlige motstanderen (2006–2014)", None),
        "ch006.xhtml": ("Russland lanserer en alternativ koalisjon mot terrorisme (2014–2021)", None),
        "ch007.xhtml": ("Fremtiden for fellesskap i krigen mot terror", None),
        "ch008.xhtml": ("Litteratur", None),
        "ch009.xhtml": ("Abstract in English", "en"),
        "cover.xhtml": (article, None),
        "nav.xhtml": (article, None),
    }


@pytest.mark.parametrize("name", ["first_title", "mini"])
def test_the_reference_list_is_a_list_in_the_epub(name: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(name)
    documents = _epub_documents(built)
    entries = [entry for tree in documents.values() for entry in tree.iter(f"{{{XHTML}}}*")
               if "csl-entry" in (entry.get("class") or "")]
    assert entries and all(entry.tag == f"{{{XHTML}}}li" and entry.get("role") is None for entry in entries)
    assert {entry.getparent().tag for entry in entries} == {f"{{{XHTML}}}ul"}
    assert len(entries) == len(json.loads(built.project.bibliography.read_text())) if name == "first_title" else 2


def test_the_ncx_cover_entry_names_the_cover_image(first_title: Built) -> None:
    documents = _epub_documents(first_title)
    opf, ncx = documents["EPUB/content.opf"], documents["EPUB/toc.ncx"]
    (cover,) = opf.xpath('//opf:item[contains(@properties, "cover-image")]/@id', namespaces={"opf": OPF})
    (meta,) = ncx.xpath('//ncx:meta[@name="cover"]/@content', namespaces={"ncx": NCX})
    assert meta == cover


def test_the_epub_ships_only_the_faces_its_documents_use(first_title: Built) -> None:
    with zipfile.ZipFile(first_title.epub) as archive:
        fonts = sorted(name for name in archive.namelist() if name.endswith(".ttf"))
        css = archive.read("EPUB/styles/stylesheet1.css").decode()
    # The article sets no bold italic: no heading or strong text holds an emphasis, nor the reverse.
    assert fonts == ["EPUB/fonts/SourceSerif4-It.ttf", "EPUB/fonts/SourceSerif4-Regular.ttf",
                     "EPUB/fonts/SourceSerif4-Semibold.ttf"]
    assert sorted(re.findall(r"fonts/([\w-]+\.ttf)", css)) == sorted(name.rsplit("/", 1)[1] for name in fonts)


def test_internal_links_in_the_pdf_are_described_by_what_they_point_to(first_title: Built) -> None:
    with pikepdf.open(first_title.pdf) as pdf:
        descriptions = {str(annotation.Dest): str(annotation.Contents) for page in pdf.pages
                        for annotation in page.get("/Annots", []) if "/Dest" in annotation}
    html = etree.parse(str(first_title.pdf.with_suffix(".print.html")), etree.HTMLParser())
    assert descriptions == {target: " ".join("".join(html.xpath(f'//*[@id="{target}"]')[0].itertext()).split())
                            for target in descriptions}
    assert descriptions["ref-sakwa2017"] == ("Sakwa, R. (2017). Russia against the rest: The post-Cold War crisis "
                                             "of world order. Cambridge University Press.")
    assert descriptions["fn1"].startswith("Prinsippet om ikke-intervensjon i Russlands interne anliggender")
    assert len(descriptions) == 47  # 44 works cited, 3 notes


def test_the_abstract_in_english_is_a_heading_in_the_pdf(first_title: Built) -> None:
    with pikepdf.open(first_title.pdf) as pdf:
        (translation,) = [element for element in structure_elements(pdf.Root.StructTreeRoot)
                          if element.S == "/Sect" and str(element.get("/Lang")) == "en"]
        assert _kinds(translation)[:3] == ["/H2", "/H2", "/P"]  # «Abstract in English», the title, the text


@pytest.mark.parametrize("name", ["first_title", "mini"])
def test_the_reference_list_is_a_list_in_the_pdf(name: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(name)
    with pikepdf.open(built.pdf) as pdf:
        # The last list in reading order (the affiliations make one on the first page).
        references = [element for element in structure_elements(pdf.Root.StructTreeRoot) if element.S == "/L"][-1]
        items = list(references.K)
        assert {str(item.S) for item in items} == {"/LI"}
        assert all(_kinds(item) == ["/LBody"] for item in items)
    cited = re.findall(r'class="csl-entry"', built.pdf.with_suffix(".print.html").read_text())
    assert len(items) == len(cited) > 1


@pytest.mark.parametrize("name", ["first_title", "long_title"])
def test_a_paragraph_across_pages_is_one_element_in_the_pdf(name: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(name)
    html = etree.parse(str(built.pdf.with_suffix(".print.html")), etree.HTMLParser())
    paragraphs = html.xpath('//p[not(@role="heading")]')
    with pikepdf.open(built.pdf) as pdf:
        elements = [element for element in structure_elements(pdf.Root.StructTreeRoot) if element.S == "/P"]
        across = [element for element in elements
                  if len({kid.Pg.objgen for kid in element.K if isinstance(kid, pikepdf.Dictionary)}) > 1]
    assert len(elements) == len(paragraphs)
    assert across  # the test has a paragraph across pages to look at


def test_images_in_the_archival_pdf_are_as_pdfa_asks(figures: Built) -> None:
    """No image asks to be interpolated; a CMYK image is painted with a device-independent
    DefaultCMYK (veraPDF: PDF/A-2 6.2.8 and 6.2.4.3), which the press PDF drops again."""
    with pikepdf.open(figures.pdf) as pdf:
        images = [(page, x) for page in pdf.pages for x in page.Resources.XObject.values() if x.Subtype == "/Image"]
        assert not [x for _, x in images if "/Interpolate" in x or "/Interpolate" in x.get("/SMask", {})]
        cmyk = [page for page, x in images if x.ColorSpace == "/DeviceCMYK"]
        assert cmyk and all(page.Resources.ColorSpace.DefaultCMYK[1].N == 4 for page in cmyk)
    with pikepdf.open(figures.output / figures.project.file("print")) as press:
        assert not [page for page in press.pages if "/DefaultCMYK" in page.Resources.get("/ColorSpace", {})]
