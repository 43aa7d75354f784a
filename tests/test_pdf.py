"""The print edition: page size, fonts, language, outline, notes, page numbers, metadata, links."""

from __future__ import annotations

import itertools
import re
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import pikepdf
import pytest
from conftest import ROOT, Built, build
from lxml import etree

from sats.cli import main
from sats.content import Content
from sats.wordcheck import BREAK, LINE_END_HYPHEN, compare, expected, pdf_pages, pdf_words, reading, stringify

MM = 72 / 25.4
FURNITURE = ("Julie Wilhelmsen", "Krigen mot terror")


def page_texts(built: Built) -> list[str]:
    """Each page's text, lines joined, line-end hyphenation undone."""
    pages = pdf_pages(built.pdf.read_bytes(), built.project.journal.first_page, FURNITURE)
    return [re.sub(r"\s+", " ", LINE_END_HYPHEN.sub(BREAK, page).replace(BREAK, "")) for page in pages]


def test_trim_size_is_170_by_240_mm(first_title: Built) -> None:
    with pikepdf.open(first_title.pdf) as pdf:
        for page in pdf.pages:
            x0, y0, x1, y1 = (float(v) for v in page.mediabox)
            assert (round((x1 - x0) / MM, 1), round((y1 - y0) / MM, 1)) == (170.0, 240.0)


def test_every_font_is_embedded_subset_source_serif(first_title: Built) -> None:
    fonts = {}
    with pikepdf.open(first_title.pdf) as pdf:
        for page in pdf.pages:
            for font in page.Resources.Font.values():
                assert font.Subtype != "/Type3"
                descendant = font.DescendantFonts[0] if "/DescendantFonts" in font else font
                descriptor = descendant.FontDescriptor
                assert "/FontFile2" in descriptor or "/FontFile3" in descriptor or "/FontFile" in descriptor
                fonts[str(font.BaseFont)] = True
    assert all(re.match(r"^/[A-Z]{6}\+", name) for name in fonts), "fonts are subset"
    names = {name.split("+", 1)[1] for name in fonts}
    assert all(name.startswith("Source-Serif-4") for name in names), f"a fallback font was used: {names}"
    assert {"Source-Serif-4-Italic", "Source-Serif-4-Semi-Bold", "Source-Serif-4-SmText"} <= names


def test_language_and_metadata(first_title: Built) -> None:
    with pikepdf.open(first_title.pdf) as pdf:
        assert str(pdf.Root.Lang) == "nb-NO"
        info = pdf.docinfo
        assert str(info.Title) == "Krigen mot terror – et vanskelig bindemiddel mellom Russland og USA"
        assert str(info.Author) == "Julie Wilhelmsen"
        assert str(info.Subject) == "Internasjonal Politikk 79(3), 2021, 319–330"
        assert str(info.Keywords) == "Russland, USA, internasjonal terrorisme, konflikt, samarbeid"
        assert str(info.CreationDate).startswith("D:20210907")
        assert str(info.ModDate).startswith("D:20210907")


def test_outline_lists_the_six_sections(first_title: Built) -> None:
    with pikepdf.open(first_title.pdf) as pdf, pdf.open_outline() as outline:
        titles = [item.title for item in outline.root]
    assert titles == [
        "11. september og Russlands partnerskap med USA", "Pragmatisme, ambisjoner og forventninger",
        "Partnerskapet sporer av (2003–2006)", "Partneren blir den egentlige motstanderen (2006–2014)",
        "Russland lanserer en alternativ koalisjon mot terrorisme (2014–2021)",
        "Fremtiden for fellesskap i krigen mot terror", "Litteratur",
        "The Unsustainable Russia-US Partnership in the War on Terror"]


def test_pages_are_numbered_from_the_first_page(first_title: Built) -> None:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(first_title.pdf.read_bytes())
    texts = [page.get_textpage().get_text_range() for page in document]
    assert len(texts) == 12
    for number, text in enumerate(texts, 319):
        assert re.search(rf"(^|[\s\ufffe]){number}(\s|$)", text[-40:]), f"page {number} shows its number"
    assert "Krigen mot terror" in texts[2][-40:] and "Julie Wilhelmsen" in texts[1][-40:], "running heads"
    assert "Krigen mot terror" not in texts[0][-40:], "no running head on the first page"


def test_without_a_last_page_the_layout_prints_its_own(tmp_path: Path) -> None:
    """One layout: the first page takes the last page from where the article ends, and the
    EPUB and both PDFs' metadata say the same."""
    folder = tmp_path / "manuscript"
    shutil.copytree(ROOT / "manuscript", folder)
    metadata = folder / "metadata.yaml"
    metadata.write_text(metadata.read_text().replace("  last-page: 330\n", ""))
    built = build(folder, tmp_path / "dist")
    assert built.project.journal.last_page is None
    assert "side 319–330" in page_texts(built)[0]
    with pikepdf.open(built.pdf) as pdf:
        assert str(pdf.docinfo.Subject).endswith("2021, 319–330")
    with zipfile.ZipFile(built.epub) as book:
        title_page = " ".join("".join(etree.fromstring(book.read("EPUB/text/ch001.xhtml")).itertext()).split())
        opf = book.read("EPUB/content.opf").decode()
    assert "side 319–330" in title_page
    assert "<dc:source>Internasjonal Politikk 79(3), 2021, 319–330</dc:source>" in opf


def test_a_one_page_article_prints_its_page_alone(mini: Built) -> None:
    assert mini.project.journal.last_page is None
    (first_page,) = page_texts(mini)
    assert re.search(r"\bp\. 41\b(?!–)", first_page), first_page


def test_build_reports_the_page_range(mini: Built, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", str(ROOT / "manuscript"), "-o", str(tmp_path), "--edition", "pdf"]) == 0
    assert "printed pages 319–330" in capsys.readouterr().err


def test_each_note_is_on_the_page_of_its_call(first_title: Built, article: Content) -> None:
    pages = page_texts(first_title)
    checked = 0
    for block in article.parts["body"]:
        if block["t"] != "Para":
            continue
        before = ""
        for inline in block["c"]:
            if inline.get("t") == "Note":
                checked += 1
                call = re.compile(rf"{re.escape(before.split()[-1])}\s*{checked}\b")
                note = " ".join(stringify(inline["c"]).split()[:6])
                call_page = [i for i, text in enumerate(pages) if call.search(text)]
                note_page = [i for i, text in enumerate(pages) if f"{checked} {note}" in text.replace("\u2002", " ")]
                assert call_page and call_page == note_page, f"note {checked}: call {call_page}, note {note_page}"
            before += stringify(inline)
    assert checked == 3


def test_links_for_doi_and_note_calls(first_title: Built) -> None:
    uris, internal = set(), 0
    with pikepdf.open(first_title.pdf) as pdf:
        for page in pdf.pages:
            for annot in page.get("/Annots", []):
                action = annot.get("/A")
                if action is not None and "/URI" in action:
                    uris.add(str(action.URI))
                elif "/Dest" in annot or (action is not None and action.S == "/GoTo"):
                    internal += 1
    assert "https://doi.org/10.23865/intpol.v79.3393" in uris
    assert "https://doi.org/10.1017/slr.2018.290" in uris, "DOIs in the reference list are links"
    assert internal >= 3 + 40, "note calls and citations link inside the document"


def test_justified_text_is_hyphenated_by_language(first_title: Built, article: Content) -> None:
    words = expected(article)
    edition = reading(pdf_words(first_title.pdf.read_bytes(), 319, FURNITURE))
    breaks = [(stem[:-1], rest) for stem, rest in itertools.pairwise(edition) if stem.endswith(BREAK)]

    def hyphenated(part: str) -> list[str]:
        """Words of `part` the typesetter broke (real hyphens at a line end do not count)."""
        vocabulary = set(words[part])
        return [a + b for a, b in breaks if a + b in vocabulary and f"{a}-{b}" not in vocabulary]

    assert len(hyphenated("body")) >= 20, "Norwegian text is hyphenated (lang nb-NO, not no)"
    assert hyphenated("translation"), "the English abstract is hyphenated too"


def test_editions_carry_the_authors_words(first_title: Built, article: Content) -> None:
    words = expected(article)
    assert compare(words, pdf_words(first_title.pdf.read_bytes(), 319, FURNITURE)) == []


def test_word_check_catches_a_dropped_word(first_title: Built, article: Content) -> None:
    edition = pdf_words(first_title.pdf.read_bytes(), 319, FURNITURE)
    page = edition[1]
    dropped = (edition[0], replace(page, text=page.text[:100] + page.text[101:]), *edition[2:])
    (miss,) = compare(expected(article), dropped)
    assert (miss.part, miss.kind, miss.words) == ("body", "missing", (page.text[100],))


def test_no_heading_stands_alone_at_a_page_foot(first_title: Built, article: Content) -> None:
    pages = page_texts(first_title)
    blocks = article.parts["body"]
    for index, block in enumerate(blocks):
        if block["t"] == "Header":
            heading = stringify(block).strip()
            following = " ".join(stringify(blocks[index + 1]).split()[:6])
            (page,) = [i for i, text in enumerate(pages) if heading in text]
            assert following in pages[page], f"«{heading}» is parted from its first lines"


def test_languages_for_hyphenation(first_title: Built) -> None:
    html = (first_title.output / f"{first_title.project.slug}.print.html").read_text()
    assert '<html lang="nb-NO">' in html, "Norwegian hyphenation (nb-NO, not no)"
    assert '<section class="translation" lang="en"' in html, "the English abstract hyphenated as English"


def test_page_labels_are_the_printed_numbers(first_title: Built) -> None:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(first_title.pdf.read_bytes())
    assert [document.get_page_label(i) for i in range(len(document))] == [str(n) for n in range(319, 331)]
