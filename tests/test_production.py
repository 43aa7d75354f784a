"""The PDFs for the press and for archives: boxes, colour, output intent, PDF/A and PDF/UA
identification and structure, page labels, and the EPUB's accessibility conformance claim."""

from __future__ import annotations

import itertools
import re
import zipfile
from decimal import Decimal

import pikepdf
import pytest
from conftest import ROOT, Built
from lxml import etree

from sats.finishing import structure_elements

MM = Decimal(72) / Decimal("25.4")
NS = {"x": "http://www.w3.org/1999/xhtml", "opf": "http://www.idpf.org/2007/opf"}


def _press(built: Built) -> pikepdf.Pdf:
    return pikepdf.open(built.output / built.project.file("print"))


def _colour_operators(document: pikepdf.Pdf) -> set[str]:
    return {str(operator) for page in document.pages for _, operator in pikepdf.parse_content_stream(page)
            if str(operator) in ("rg", "RG", "k", "K", "g", "G", "cs", "CS", "sc", "scn", "SC", "SCN")}


@pytest.mark.parametrize("fixture", ["first_title", "mini"])
def test_press_pdf_has_trim_bleed_and_crop_marks(fixture: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(fixture)
    with _press(built) as document:
        for page in document.pages:
            left, bottom, right, top = page.TrimBox
            assert round((right - left) / MM) == 170 and round((top - bottom) / MM) == 240
            bleed = [round(a - b, 2) for a, b in zip(page.TrimBox, page.BleedBox, strict=True)]
            assert bleed == [round(3 * MM, 2), round(3 * MM, 2), -round(3 * MM, 2), -round(3 * MM, 2)]
            media = page.MediaBox
            assert media[0] < page.BleedBox[0] and media[2] > page.BleedBox[2], "room for the marks"
            marks = [operands for operands, operator in pikepdf.parse_content_stream(page)
                     if str(operator) == "K" and [float(x) for x in operands] == [1, 1, 1, 1]]
            assert marks, "crop marks in registration colour"
        assert str(document.Root.PageLabels.Nums[1].St) == str(built.project.journal.first_page)


@pytest.mark.parametrize("fixture", ["first_title", "mini"])
def test_press_pdf_is_all_cmyk(fixture: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(fixture)
    with _press(built) as document:
        assert _colour_operators(document) <= {"k", "K"}


def test_press_pdf_with_the_printers_profile_is_pdf_x4(mini: Built) -> None:
    with _press(mini) as document:
        assert document.pdf_version == "1.6"
        (intent,) = document.Root.OutputIntents
        assert intent.S == "/GTS_PDFX" and str(intent.OutputConditionIdentifier) == "FOGRA39"
        assert intent.DestOutputProfile.N == 4
        assert intent.DestOutputProfile.read_bytes() == (mini.project.root / "FOGRA39L.icc").read_bytes()
        assert document.open_metadata().get("pdfxid:GTS_PDFXVersion") == "PDF/X-4"
        assert document.trailer.Info.Trapped == "/False"


def test_press_pdf_without_a_printers_profile_is_pdf_x4_with_the_shipped_one(first_title: Built) -> None:
    """Made from the archival PDF, the press PDF drops its claims (its colour is no longer sRGB)
    and claims PDF/X-4 with the profile Sats ships, which its colour was converted to."""
    with _press(first_title) as document:
        (intent,) = document.Root.OutputIntents
        assert intent.S == "/GTS_PDFX" and str(intent.OutputConditionIdentifier) == "FOGRA39"
        assert intent.DestOutputProfile.read_bytes() == (ROOT / "styles" / "icc" / "FOGRA39L.icc").read_bytes()
        metadata = document.open_metadata()
        assert [metadata.get(key) for key in ("pdfxid:GTS_PDFXVersion", "pdfaid:part", "pdfuaid:part")] == [
            "PDF/X-4", None, None]
        assert metadata.get("dc:title") == first_title.project.title


def test_preflight_report(first_title: Built, mini: Built) -> None:
    report = (first_title.output / first_title.project.preflight_file).read_text()
    assert "Pages:         12 (printed pages 319–330)" in report
    assert "Trim box:      170.0 × 240.0 mm on every page" in report and "Bleed:         3.0 mm" in report
    assert "Colour spaces: DeviceCMYK\n" in report and "all embedded" in report
    assert "Images:        none" in report and "Problems:      none" in report and "Warnings:      none" in report
    assert "Standard:      PDF/X-4, output intent FOGRA39\nProfile:       Coated FOGRA39 (Sats, " in report
    assert "Ink coverage:  at most 100 %, limit 300 %\n" in report
    report = (mini.output / mini.project.preflight_file).read_text()
    assert "Standard:      PDF/X-4, output intent FOGRA39" in report
    assert "(FOGRA39L.icc, the printer’s)" in report


def test_archival_pdf_is_identified_as_pdf_a2a_and_pdf_ua1(first_title: Built) -> None:
    with pikepdf.open(first_title.pdf) as document:
        metadata = document.open_metadata()
        assert (metadata.get("pdfaid:part"), metadata.get("pdfaid:conformance")) == ("2", "A")
        assert metadata.get("pdfuaid:part") == "1"
        assert "pdfuaid" in document.Root.Metadata.read_bytes().decode(), "the extension schema PDF/A asks for"
        assert document.Root.OutputIntents[0].S == "/GTS_PDFA1"
        assert document.Root.MarkInfo.Marked and document.Root.ViewerPreferences.DisplayDocTitle
        assert str(document.Root.Lang) == "nb-NO"
        assert str(document.Root.PageLabels.Nums[1].St) == "319"


def test_archival_pdf_tags_the_english_abstract_and_the_notes(first_title: Built) -> None:
    with pikepdf.open(first_title.pdf) as document:
        elements = list(structure_elements(document.Root.StructTreeRoot))
        english = [e for e in elements if e.get("/Lang") == "en"]
        assert [str(e.S) for e in english if e.S not in ("/LI", "/LBody")] == ["/Sect"], "the English abstract"
        assert sum(e.S == "/LI" for e in english) == 34, "each reference to an English work"
        notes = [e for e in elements if e.S == "/Note"]
        assert [str(note.ID) for note in notes] == ["fn1", "fn2", "fn3"]
        tree = document.Root.StructTreeRoot.IDTree.Names
        assert [str(name) for name in tree[::2]] == ["fn1", "fn2", "fn3"]


def test_archival_pdf_has_no_untagged_text(first_title: Built) -> None:
    """Every marked content sequence is in the structure tree, or is an artifact (running heads
    and folios)."""
    with pikepdf.open(first_title.pdf) as document:
        root = document.Root.StructTreeRoot
        reachable = {e.objgen for e in structure_elements(root)}
        artifacts = 0
        for number, page in enumerate(document.pages):
            mapped = root.ParentTree.Nums[2 * number + 1]
            for operands, operator in pikepdf.parse_content_stream(page):
                if str(operator) != "BDC":
                    continue
                if operands[0] == "/Artifact":
                    artifacts += 1
                else:
                    assert mapped[int(operands[1].MCID)].objgen in reachable
        assert artifacts >= 2 * 11 + 1, "a running head and a folio on each page, the folio on the first"


def test_epub_claims_conformance_it_meets(first_title: Built) -> None:
    with zipfile.ZipFile(first_title.epub) as archive:
        opf = etree.fromstring(archive.read("EPUB/content.opf"))
        claims = [m.text for m in opf.iterfind("opf:metadata/opf:meta", NS)
                  if m.get("property") == "dcterms:conformsTo"]
        assert claims == ["EPUB Accessibility 1.1 - WCAG 2.2 Level AA"]
        for name in archive.namelist():
            if name.startswith("EPUB/text/ch"):
                levels = [int(h.tag[-1]) for h in etree.fromstring(archive.read(name)).iter()
                          if isinstance(h.tag, str) and re.fullmatch(r"\{.*\}h[1-6]", h.tag)]
                assert levels and levels[0] == 1, f"{name} opens with its h1"
                assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), f"{name}: headings in order {levels}"
        css = archive.read("EPUB/styles/stylesheet1.css").decode()
    colours = set(re.findall(r"(?<![-\w])(?:color|background(?:-color)?)\s*:\s*([^;}]+)", css))
    assert colours <= {"inherit"}, "text keeps the reading system's own contrast"


def test_a_build_writes_the_editions_and_the_report(first_title: Built) -> None:
    """The three editions, the preflight report and the JATS file (the first title names no
    Crossref depositor: no deposit)."""
    written = sorted(p.name for p in first_title.output.iterdir() if p.is_file())
    slug = first_title.project.slug
    assert written == sorted([f"{slug}.pdf", f"{slug}.print.pdf", f"{slug}.epub", f"{slug}.print.preflight.txt",
                              f"{slug}.print.html", f"{slug}.jats.xml"])
