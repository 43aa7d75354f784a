"""Three manuscripts as a journal's authors and production editor would send them, written from
the user's manual alone (tests/fixtures/acceptance-nn, -en, -da): a Nynorsk article by three
authors with two affiliations, a note longer than half a page, notes close together, a wide
table with a long caption, a photograph, a low-resolution one and an SVG chart; an English
article with inline and displayed equations, a table over three pages, block quotes, nested
lists, long URLs and DOIs in the text and the notes, a BibLaTeX entry that lacks fields and the
printer's profile; a Danish article by four authors from four universities with a regression
table of nine columns, three note calls side by side and a note of most of a page. Each is built
once and checked as `check` checks it, with every validator installed, and on its real files.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import FIXTURES, Built
from lxml import etree

from sats import typography
from sats.cli import main
from sats.wordcheck import pdf_pages

XHTML = {"x": "http://www.w3.org/1999/xhtml"}
NAMES = ["acceptance-nn", "acceptance-en", "acceptance-da"]
NOTES = {"acceptance-nn": 17, "acceptance-en": 10, "acceptance-da": 13}
LABELS = {"acceptance-nn": ("Figur 1.", "Figur 2.", "Figur 3.", "Tabell 1."),
          "acceptance-en": ("Figure 1.", "Table 1."), "acceptance-da": ("Figur 1.", "Tabel 1.")}


def _documents(epub: Path) -> dict[str, etree._Element]:
    """The EPUB's XHTML documents, by their names in the package."""
    with zipfile.ZipFile(epub) as archive:
        return {name: etree.fromstring(archive.read(name)) for name in archive.namelist()
                if name.endswith(".xhtml")}


@pytest.mark.parametrize("name", NAMES)
def test_check_passes_with_no_hard_typographic_fault(acceptance: dict[str, Built], name: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    built = acceptance[name]
    code = main(["check", str(built.project.root), "-o", str(built.output)])
    out = capsys.readouterr()
    report = out.out + out.err
    assert code == 0, report
    assert f"{built.pdf}: page size, fonts, metadata, bookmarks and words checked" in report
    assert "EPUBCheck found 0 errors and warnings; words checked" in report
    assert "valid against the JATS Journal Publishing 1.1 DTD" in report
    faults = re.search(r": 0 hard and (\d+) soft typographic faults|: no typographic faults", report)
    assert faults, report
    assert not re.search(r": page \d+: (overfull|note off its page|hyphen across a page|widow|orphan)", report)
    assert "word check" not in report
    for validator in ("veraPDF", "DAISY Ace"):
        assert f"{validator} found 0 problems" in report or f"{validator} not run" in report


@pytest.mark.parametrize("name", NAMES)
def test_figures_tables_and_notes_are_all_there(acceptance: dict[str, Built], name: str) -> None:
    built = acceptance[name]
    documents = _documents(built.epub)
    text = "\n".join(pdf_pages(built.pdf.read_bytes(), built.project.journal.first_page))
    captions = [" ".join("".join(caption.itertext()).split()) for tree in documents.values()
                for caption in tree.xpath("//x:figcaption | //x:caption", namespaces=XHTML)]
    for label in LABELS[name]:
        assert sum(caption.startswith(label) for caption in captions) == 1, (label, captions)
        assert label.replace(" ", "\u00a0") in text or label in text
    notes = [aside for tree in documents.values()
             for aside in tree.xpath('//x:aside[@role="doc-footnote"]', namespaces=XHTML)]
    assert len(notes) == NOTES[name]


@pytest.mark.parametrize("name", NAMES)
def test_every_link_within_the_epub_finds_its_target(acceptance: dict[str, Built], name: str) -> None:
    documents = _documents(acceptance[name].epub)
    ids = {name: set(tree.xpath("//@id")) for name, tree in documents.items()}
    links = [(document, str(href)) for document, tree in documents.items()
             for href in tree.xpath('//x:a[contains(@href, "#")]/@href', namespaces=XHTML)
             if not str(href).startswith(("http", "mailto"))]
    assert links
    for document, href in links:
        path, _, identifier = href.partition("#")
        target = posixpath.normpath(posixpath.join(posixpath.dirname(document), path)) if path else document
        assert identifier in ids[target], (document, href)


def test_a_figure_in_another_chapter_is_linked_there(acceptance: dict[str, Built]) -> None:
    """The method section refers to the figure of the results section, the next chapter."""
    documents = _documents(acceptance["acceptance-nn"].epub)
    hrefs = [str(href) for tree in documents.values()
             for href in tree.xpath('//x:a[@class="cross-ref"]/@href', namespaces=XHTML)]
    assert sum(href.endswith("#fig-kvotar") and not href.startswith("#") for href in hrefs) == 1


@pytest.mark.parametrize("name", NAMES)
def test_no_url_is_hyphenated(acceptance: dict[str, Built], name: str) -> None:
    """A URL breaks after a slash or a hyphen of its own, never at a hyphen the layout adds:
    PDFium marks a line-end hyphen with U+FFFE, so each one inside a URL must be the URL's own."""
    built = acceptance[name]
    sources = "".join(path.read_text(encoding="utf-8") for path in sorted(built.project.root.iterdir())
                      if path.suffix in (".md", ".json", ".bib"))
    urls = re.findall(r"https?://[^\s>)\]\"}]+", sources)
    text = "\n".join(pdf_pages(built.pdf.read_bytes(), built.project.journal.first_page))
    broken = [word.split("\ufffe")[0] for word in text.split() if "\ufffe" in word and "/" in word]
    assert any("://" in stem for stem in broken) or name != "acceptance-nn"
    for stem in broken:
        url = stem[stem.index("http"):] if "http" in stem else stem
        assert any(url + "-" in whole for whole in urls), stem


def test_the_low_resolution_photograph_is_reported(acceptance: dict[str, Built]) -> None:
    built = acceptance["acceptance-nn"]
    report = (built.output / built.project.file("print").replace(".pdf", ".preflight.txt")).read_text()
    assert re.search(r"image 'figurar/moete-1976\.jpg' at 1\d\d ppi at its placed size, below 300 ppi", report)
    assert "kai.jpg' at" not in report


def test_the_incomplete_entry_is_reported_not_filled_in(acceptance: dict[str, Built], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    built = acceptance["acceptance-en"]
    assert main(["build", str(built.project.root), "-o", str(built.output)]) == 0
    err = capsys.readouterr().err
    assert f"{built.project.root / 'references.bib'}:45: entry 'krueger2013' is incomplete: no volume, no page" in err
    (reference,) = [" ".join("".join(entry.itertext()).split()) for tree in _documents(built.epub).values()
                    for entry in tree.xpath('//*[@id="ref-krueger2013"]')]
    assert reference.endswith("Counting Civilian Casualties: An Introduction to Recording and Estimating "
                              "Nonmilitary Deaths in Conflict.")


def test_a_figure_in_a_note_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "manuscript"
    shutil.copytree(FIXTURES / "mini", folder)
    shutil.copy(FIXTURES / "acceptance-en" / "figures" / "lists.svg", folder)
    notes = folder / "notes.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n    ![Two lists.](lists.svg)\n", encoding="utf-8")
    line = notes.read_text(encoding="utf-8").count("\n")
    assert main(["build", str(folder), "-o", str(tmp_path / "dist"), "-q"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"{notes}:{line}: image 'lists.svg' is a figure in a note: notes hold text only; place the figure in "
        "the body and refer to it from the note")
    assert not (tmp_path / "dist").exists()


def test_jats_gives_figures_and_tables_their_labels(acceptance: dict[str, Built]) -> None:
    from sats import jats

    built = acceptance["acceptance-nn"]
    data = (built.output / built.project.file("jats")).read_bytes()
    assert jats.validate(data) == []
    root = etree.fromstring(data)
    assert [label.text for label in root.iterfind(".//fig/label")] == [f"Figur\u00a0{n}." for n in (1, 2, 3)]
    assert [label.text for label in root.iterfind(".//table-wrap/label")] == ["Tabell\u00a01."]
    assert not root.xpath("//named-content[@content-type='caption-label']")
    assert root.findtext(".//fig/caption/p").startswith("Tilrådd og fastsett totalkvote")


def test_a_weasyprint_error_that_is_not_about_styles_says_so(tmp_path: Path) -> None:
    from sats import pdf
    from sats.errors import SatsError

    (tmp_path / "broken.png").write_bytes(b"not an image at all")
    html = '<html><body><p>Text</p><img src="broken.png" alt="A broken image."></body></html>'
    with pytest.raises(SatsError, match=r"^WeasyPrint failed: Failed to load image at '.*broken\.png'"):
        pdf.lay_out(html, tmp_path, (tmp_path,), epoch=0)


def test_a_long_note_leaves_no_hole_in_the_page_before_it(acceptance: dict[str, Built]) -> None:
    """Note 8 takes most of a page: with the notes' room at half the page its call went on to the
    next page, leaving 21 lines empty, and the next page 13; the notes may then take more."""
    built = acceptance["acceptance-da"]
    faults = typography.from_json((built.output / ".sats-cache" / f"{built.project.slug}.typography.json").read_bytes())
    short = [fault for fault in faults if fault.kind == "short page"]
    assert short and all(float(fault.detail.split()[0]) <= typography.NOTE_HOLE_LINES for fault in short), short
    assert not [fault for fault in faults if fault.hard]
