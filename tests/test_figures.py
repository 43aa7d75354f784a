"""Figures, tables and cross-references in both editions, built with the real engines from two
articles, one English and one Norwegian (bokmål), each with a colour chart (PNG), a photograph
(JPEG), a colour map with text (SVG), a short table and a table long enough to span pages: all
three editions.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from conftest import FIXTURES
from lxml import etree
from PIL import Image

from sats import config, fonts, svg
from sats.cli import main
from sats.wordcheck import pdf_pages

MM = 72 / 25.4
XHTML = {"x": "http://www.w3.org/1999/xhtml"}
TOLERANCE = 0.5  # points: half a rule's width


@dataclass(frozen=True)
class Article:
    """A fixture built into its own folder, with what the tests expect of it."""

    folder: Path
    output: Path
    pdf: Path
    epub: Path
    first_page: int
    figure: str
    table: str
    figure_ref: str
    header: str  # the long table's first header cell, a phrase found nowhere else
    phrases: tuple[str, ...]  # cross-references in their sentences, as printed


def _build(folder: Path, output: Path, **expected: Any) -> Article:
    assert main(["build", str(folder), "-o", str(output), "-q"]) == 0
    project = config.load(folder)
    return Article(folder, output, output / project.file("pdf"), output / project.file("epub"),
                   project.journal.first_page, **expected)


@pytest.fixture(scope="session")
def english(tmp_path_factory: pytest.TempPathFactory) -> Article:
    return _build(FIXTURES / "figures-en", tmp_path_factory.mktemp("figures-en"), figure="Figure",
                  table="Table", figure_ref="Figure", header="Month and week",
                  phrases=("hinterland of farms and forest. Figure 1 shows", "The map in Figure 1 explains",
                           "the second, in Trade in the last decade, compares"))


@pytest.fixture(scope="session")
def norwegian(tmp_path_factory: pytest.TempPathFactory) -> Article:
    return _build(FIXTURES / "figures-nb", tmp_path_factory.mktemp("figures-nb"), figure="Figur",
                  table="Tabell", figure_ref="figur", header="Måned og uke",
                  phrases=("gårder og skog. Figur 1 viser", "Kartet i figur 1 forklarer", "Folketallet i hver by står "
                           "i tabell 1.", "regionen. Figur 2 viser", "den andre, i Handelen det siste tiåret,"))


@pytest.fixture(params=["english", "norwegian"])
def built(request: pytest.FixtureRequest) -> Article:
    article: Article = request.getfixturevalue(request.param)
    return article


def pages_text(article: Article) -> list[str]:
    return [re.sub(r"\s+", " ", text.replace("\ufffe", "")) for text in pdf_pages(article.pdf.read_bytes())]


def epub_documents(article: Article) -> dict[str, etree._Element]:
    with zipfile.ZipFile(article.epub) as archive:
        return {name: etree.fromstring(archive.read(name)) for name in archive.namelist()
                if name.endswith(".xhtml")}


def text_block(number: int, width: float, height: float) -> tuple[float, float, float, float]:
    """The text block of the page printed `number` (left, bottom, right, top in points), as
    print.css sets the margins: an odd page is a right-hand page, an even one a left-hand page."""
    inner, outer = 17 * MM, 21 * MM
    left, right = (inner, outer) if number % 2 == 1 else (outer, inner)
    return left, 22 * MM, width - right, height - 20 * MM


def test_figures_and_tables_are_numbered_in_the_articles_language(built: Article) -> None:
    text = " ".join(pages_text(built))
    for number in (1, 2, 3):
        assert f"{built.figure}\u00a0{number}." in text or f"{built.figure} {number}." in text
    for number in (1, 2):
        assert f"{built.table}\u00a0{number}." in text or f"{built.table} {number}." in text
    assert f"{built.figure} 4" not in text.replace("\u00a0", " ")
    documents = epub_documents(built)
    labels = ["".join(label.itertext()).replace("\u00a0", " ") for tree in documents.values()
              for label in tree.xpath("//x:span[@class='caption-label']", namespaces=XHTML)]
    assert labels == [f"{built.figure} 1.", f"{built.table} 1.", f"{built.figure} 2.", f"{built.figure} 3.",
                      f"{built.table} 2."]
    figures = [figure for tree in documents.values() for figure in tree.xpath("//x:figure", namespaces=XHTML)]
    assert len(figures) == 3
    assert all(figure.find("x:figcaption", XHTML) is not None for figure in figures)
    captions = [caption for tree in documents.values()
                for caption in tree.xpath("//x:table/x:caption", namespaces=XHTML)]
    assert len(captions) == 2


def test_cross_references_name_their_targets_in_both_editions(built: Article) -> None:
    text = " ".join(pages_text(built)).replace("\u00a0", " ")
    assert f"{built.figure_ref} 1" in text
    assert "fig-" not in text and "tbl-" not in text and "sec-" not in text
    links = [(link.get("href"), "".join(link.itertext()).replace("\u00a0", " "))
             for tree in epub_documents(built).values()
             for link in tree.xpath("//x:a[@class='cross-ref']", namespaces=XHTML)]
    ids = {identifier for tree in epub_documents(built).values() for identifier in tree.xpath("//@id")}
    assert len(links) == 9
    assert all(href.split("#")[1] in ids for href, _ in links)
    figure_links = {words.lower() for href, words in links if "#fig-" in href}
    assert figure_links == {f"{built.figure_ref.lower()} {number}" for number in (1, 2, 3)}
    # The label is the language's word for a figure, with a capital where it begins a sentence.
    for phrase in built.phrases:
        assert phrase in text


def test_nothing_is_drawn_outside_the_text_block(built: Article) -> None:
    document = pdfium.PdfDocument(built.pdf.read_bytes())
    images = 0
    try:
        first = config.load(built.folder).journal.first_page
        for index, page in enumerate(document):
            left, bottom, right, top = text_block(first + index, page.get_width(), page.get_height())
            for item in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_IMAGE,
                                                 pdfium_c.FPDF_PAGEOBJ_SHADING, pdfium_c.FPDF_PAGEOBJ_FORM]):
                x0, y0, x1, y1 = item.get_bounds()
                images += item.type == pdfium_c.FPDF_PAGEOBJ_IMAGE
                assert left - TOLERANCE <= x0 and x1 <= right + TOLERANCE, (index, item.type, x0, x1, left, right)
                assert bottom - TOLERANCE <= y0 and y1 <= top + TOLERANCE, (index, item.type, y0, y1)
    finally:
        document.close()
    assert images == 2  # the photograph and the chart; the map is drawn as paths and text


def test_every_figure_stands_on_the_page_of_its_caption(built: Article) -> None:
    document = pdfium.PdfDocument(built.pdf.read_bytes())
    try:
        kinds = [pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_PATH]
        drawn = [[item.type for item in page.get_objects(filter=kinds)] for page in document]
    finally:
        document.close()
    pages = [text.replace("\u00a0", " ") for text in pages_text(built)]
    # Figure 1 is the map (paths), 2 the photograph and 3 the chart (images).
    for number, kind, least in ((1, pdfium_c.FPDF_PAGEOBJ_PATH, 6), (2, pdfium_c.FPDF_PAGEOBJ_IMAGE, 1),
                                (3, pdfium_c.FPDF_PAGEOBJ_IMAGE, 1)):
        (page,) = [index for index, text in enumerate(pages) if f"{built.figure} {number}." in text]
        assert drawn[page].count(kind) >= least, f"{built.figure} {number} is not on page {page + built.first_page}"


def test_the_long_table_repeats_its_header_and_keeps_its_caption(built: Article) -> None:
    pages = [text.replace("\u00a0", " ") for text in pages_text(built)]
    with_header = [index for index, text in enumerate(pages) if built.header in text]
    assert len(with_header) == 2 and with_header[1] == with_header[0] + 1
    first, continued = (pages[index] for index in with_header)
    caption = f"{built.table} 2."
    assert caption in first and first.index(caption) < first.index(built.header)
    assert caption not in continued
    assert continued.lstrip().startswith(built.header)


def test_only_the_projects_fonts_are_embedded_svg_text_too(built: Article) -> None:
    names = set()
    with pikepdf.open(built.pdf) as pdf:
        for page in pdf.pages:
            names |= {str(font.BaseFont) for font in fonts.used(page.Resources)}
    assert names and all(fonts.is_own(name) for name in names), names
    document = pdfium.PdfDocument(built.pdf)
    text = " ".join(page.get_textpage().get_text_range() for page in document)
    document.close()
    assert "50 km" in text  # the map's scale: its text is set, and in the project's face
    assert "50 km" not in " ".join(pages_text(built))  # but no part of the running text
    (report,) = built.output.glob("*.preflight.txt")
    assert "Problems:      none" in report.read_text()  # the press PDF's fonts, colour, images


def test_the_epub_has_alt_text_and_images_of_a_sensible_size(built: Article) -> None:
    with zipfile.ZipFile(built.epub) as archive:
        media = {name: archive.read(name) for name in archive.namelist() if "/media/" in name}
    images = [image for tree in epub_documents(built).values() for image in tree.xpath("//x:img", namespaces=XHTML)]
    assert len(images) == 3
    assert all((image.get("alt") or "").strip() for image in images)
    placed = {name for name in media for image in images if name.endswith(image.get("src").rsplit("/", 1)[1])}
    sizes = [Image.open(io.BytesIO(media[name])).size for name in placed if not name.endswith(".svg")]
    assert sorted(sizes) == [(1500, 900), (1600, 1067)]  # the chart as it is, the photograph scaled from 2400
    (map_svg,) = [media[name].decode() for name in placed if name.endswith(".svg")]
    assert "Helvetica" not in map_svg and "DejaVu" not in map_svg and "Arial" not in map_svg
    assert map_svg.count("Source Serif 4") >= 3


def test_check_is_clean_epubcheck_and_words(built: Article, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["check", str(built.folder), "-o", str(built.output)]) == 0
    out = capsys.readouterr()
    assert "EPUBCheck found 0 errors and warnings" in out.err + out.out
    assert "no problems, 0 warnings" in out.err + out.out


HOSTILE_SVG = """<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY secret SYSTEM "file://{canary}"><!ENTITY big "aaaaaaaaaa">]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="80mm" height="40mm"
     viewBox="0 0 200 100" onload="alert(1)">
  <script>alert(2)</script>
  <style>@import url("file://{canary}"); text {{ font-family: "DejaVu Sans" }}</style>
  <rect width="200" height="100" fill="url(http://example.org/paint)" stroke="#204080"/>
  <text x="10" y="40" font-family="Liberation Mono">Kept &secret; &big;</text>
  <image xlink:href="file://{canary}" width="10" height="10"/>
  <use xlink:href="file://{canary}#a"/>
  <foreignObject width="10" height="10"><p xmlns="http://www.w3.org/1999/xhtml">gone</p></foreignObject>
  <a xlink:href="javascript:alert(3)"><text x="10" y="80">Link</text></a>
</svg>
"""


def test_svg_is_sanitised_and_set_in_the_projects_font(tmp_path: Path) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("CANARY-svg-secret")
    sanitised = svg.sanitise(HOSTILE_SVG.format(canary=canary).encode(), '"Source Serif 4", serif')
    assert sanitised.removed == ("&big;", "&secret;", "<a>", "<foreignObject>", "<image>", "<script>", "<style>")
    cleaned = sanitised.data.decode()
    for gone in ("script", "alert", "onload", "foreignObject", "image", "file:", "CANARY", "example.org", "@import",
                 "DejaVu", "Liberation", "ENTITY", "aaaa", "javascript"):
        assert gone not in cleaned, gone
    tree = etree.fromstring(cleaned.encode())
    assert tree.get("font-family") == '"Source Serif 4", serif'
    assert [text.get("font-family") for text in tree.iter("{http://www.w3.org/2000/svg}text")] == [
        '"Source Serif 4", serif']
    assert "Kept" in cleaned and "Link" not in cleaned  # a link, and what it holds, is not a figure's


def test_a_hostile_svg_builds_without_leaking(manuscript_copy: Path, tmp_path: Path) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("CANARY-svg-secret")
    (manuscript_copy / "drawing.svg").write_text(HOSTILE_SVG.format(canary=canary))
    body = manuscript_copy / "body.md"
    body.write_text(body.read_text() + "\n![A drawing that tries everything](drawing.svg){#fig-drawing}\n")
    output = tmp_path / "dist"
    assert main(["build", str(manuscript_copy), "-o", str(output), "-q", "--edition", "pdf", "--edition", "epub"]) == 0
    for path in (path for path in output.rglob("*") if path.is_file()):
        data = path.read_bytes()
        if path.suffix == ".epub":
            with zipfile.ZipFile(path) as archive:
                data = b"".join(archive.read(name) for name in archive.namelist())
        assert b"CANARY" not in data and b"alert" not in data


def test_a_glyph_the_projects_fonts_lack_is_reported_by_check(manuscript_copy: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    (manuscript_copy / "sign.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="20mm" viewBox="0 0 80 40">'
        '<text x="5" y="25" font-size="16">Snow \u2603</text></svg>')
    body = manuscript_copy / "body.md"
    body.write_text(body.read_text() + "\n![A sign](sign.svg)\n")
    output = tmp_path / "dist"
    assert main(["build", str(manuscript_copy), "-o", str(output), "-q", "--edition", "pdf", "--edition", "epub"]) == 0
    capsys.readouterr()
    assert main(["check", str(manuscript_copy), "-o", str(output)]) == 1
    err = capsys.readouterr().err
    assert re.search(r"page \d+: font /[A-Z]{6}\+\S+ is not one of the project's \(styles/fonts\)", err), err


def test_a_table_wider_than_the_text_block_is_reported(manuscript_copy: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    body = manuscript_copy / "body.md"
    cells = " | ".join(["Supercalifragilisticexpialidocious"] * 6)
    rule = " | ".join(["---"] * 6)
    body.write_text(body.read_text() + f"\n| {cells} |\n| {rule} |\n| {cells} |\n\n: Too wide {{#tbl-wide}}\n")
    capsys.readouterr()
    assert main(["build", str(manuscript_copy), "-o", str(tmp_path / "dist"), "--edition", "pdf"]) == 0
    err = capsys.readouterr().err
    assert re.search(r"body\.md: Table 1 is \d+\.\d mm wider than the text block \(page \d of the layout\)", err), err


def test_a_changed_image_rebuilds_the_editions(manuscript_copy: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(FIXTURES / "figures-en" / "figures" / "chart.png", manuscript_copy / "chart.png")
    body = manuscript_copy / "body.md"
    body.write_text(body.read_text() + "\n![A chart](chart.png)\n")
    output = tmp_path / "dist"
    assert main(["build", str(manuscript_copy), "-o", str(output), "-q", "--edition", "pdf"]) == 0
    before = next(output.glob("*.pdf")).read_bytes()
    Image.new("RGB", (300, 200), (200, 30, 30)).save(manuscript_copy / "chart.png")
    assert main(["build", str(manuscript_copy), "-o", str(output), "-q", "--edition", "pdf"]) == 0
    assert next(output.glob("*.pdf")).read_bytes() != before


def test_a_reference_to_an_equation_prints_its_number(manuscript_copy: Path, tmp_path: Path) -> None:
    body = manuscript_copy / "body.md"
    body.write_text(body.read_text() + "\n$$ E = mc^2 $$ {#eq-energy}\n\nAs @eq-energy says, and [see @eq-energy].\n")
    output = tmp_path / "dist"
    assert main(["build", str(manuscript_copy), "-o", str(output), "-q", "--edition", "pdf", "--edition", "epub"]) == 0
    text = " ".join(pdf_pages(next(output.glob("*.pdf")).read_bytes()))
    assert "As (1) says, and see (1)." in re.sub(r"\s+", " ", text)
    with zipfile.ZipFile(next(output.glob("*.epub"))) as archive:
        xhtml = " ".join(archive.read(name).decode() for name in archive.namelist() if name.endswith(".xhtml"))
    assert re.search(r'<a href="[^"]*#eq-energy" class="cross-ref">\(1\)</a> says', xhtml)
