"""Equations: drawn in the print edition on the baseline and the grid of the text around them,
tagged as Formula with their TeX; MathML in the EPUB; a formula that is not TeX stops the build."""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from conftest import FIXTURES, Built
from lxml import etree

from sats import mathematics, validator
from sats.cli import main

MATHML = "http://www.w3.org/1998/Math/MathML"
XHTML = "http://www.w3.org/1999/xhtml"
PX = 0.75  # WeasyPrint's layout boxes are in CSS px: points per px
MATRIX = r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}"
NOTE = r"x_i^2 + \lambda"
ABSTRACT = ["D_t", "t", r"\frac{a}{b}", r"\alpha"]
INTRODUCTION = ["D_t", "t", "i", "p_i", "c_i", r"\mu_i = \frac{p_i - c_i}{p_i}", r"\varepsilon",
                r"\sum_{i=1}^{n} q_i", r"\sigma^2"]
MODEL = ["t", "n", r"D_t = \sum_{i=1}^{n} \frac{\alpha_i}{p_t^{\beta}} + \varepsilon_t", r"\beta > 0",
         r"\frac{1}{\sqrt{2\pi}} \int_{-\infty}^{\infty} e^{-x^2/2}\,dx = 1", r"\Delta = \frac{\gamma}{1 - \delta}"]
# Source Serif 4: how far its ascenders reach above the baseline and its descenders below, in em.
ASCENDER, DESCENDER = 0.75, 0.25


@dataclass(frozen=True)
class Line:
    """A line of text on a page: its baseline (points from the top) and its text."""

    baseline: float
    text: str
    left: float
    right: float


def lines(pdf: Path, number: int) -> list[Line]:
    """The lines of text of a page, top down, from PDFium's character origins."""
    document = pdfium.PdfDocument(pdf)
    page = document[number]
    height, text = page.get_height(), page.get_textpage()
    found: dict[float, list[tuple[str, float, float]]] = {}
    for index in range(text.count_chars()):
        character = text.get_text_range(index, 1)
        if character.strip():
            x, y = ctypes.c_double(), ctypes.c_double()
            pdfium_c.FPDFText_GetCharOrigin(text, index, x, y)
            left, _, right, _ = text.get_charbox(index)
            found.setdefault(round(height - y.value, 2), []).append((character, left, right))
    document.close()
    return [Line(baseline, "".join(c for c, _, _ in chars), min(left for _, left, _ in chars),
                 max(right for _, _, right in chars)) for baseline, chars in sorted(found.items())]


def line_starting(page: list[Line], words: str) -> int:
    (index,) = [number for number, line in enumerate(page) if line.text.startswith(words.replace(" ", ""))]
    return index


@dataclass(frozen=True)
class Tag:
    """A structure element of the archival PDF."""

    kind: str
    alt: str | None
    box: tuple[float, ...]  # left, top, right, bottom in points from the page's top left
    marked: bool


def tags(pdf: Path) -> list[Tag]:
    """The structure elements in reading order."""
    found: list[Tag] = []

    def visit(element: pikepdf.Object) -> None:
        if not isinstance(element, pikepdf.Dictionary) or "/S" not in element:
            return
        layout = element.get("/A")
        box = tuple(float(v) * PX for v in layout.BBox) if layout is not None and "/BBox" in layout else ()
        kids = element.get("/K")
        kids = kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []
        found.append(Tag(str(element.S), str(element.Alt) if "/Alt" in element else None, box,
                         any(isinstance(kid, int) for kid in kids)))
        for kid in kids:
            visit(kid)

    with pikepdf.open(pdf) as document:
        visit(document.Root.StructTreeRoot.K[0])
    return found


def formulas(built: Built) -> list[Tag]:
    return [tag for tag in tags(built.pdf) if tag.kind == "/Formula"]


def test_inline_formulas_keep_the_lines_on_their_grid(math_title: Built) -> None:
    page = lines(math_title.pdf, 0)
    abstract, body = line_starting(page, "We model the demand"), line_starting(page, "The demand in period")
    # The body's first paragraph (its last line, with the note call, aside): scripts, a fraction,
    # Greek and a sum in the line; the abstract at its own pitch.
    assert [round(page[n + 1].baseline - page[n].baseline, 2) for n in range(body, body + 5)] == [13.5] * 5
    assert round(page[abstract + 1].baseline - page[abstract].baseline, 2) == 12.5


def test_a_formula_taller_than_the_line_moves_the_lines_just_clear_of_it(math_title: Built) -> None:
    page = lines(math_title.pdf, 0)
    above, at, below = (page[n] for n in range(line_starting(page, "A matrix set") - 1,
                                                 line_starting(page, "A matrix set") + 2))
    (matrix,) = [tag for tag in formulas(math_title) if tag.alt == MATRIX]
    _, top, _, bottom = matrix.box
    assert at.baseline - above.baseline > 13.5 and below.baseline - at.baseline > 13.5
    assert above.baseline + DESCENDER * 10 < top and bottom < below.baseline - ASCENDER * 10
    assert at.baseline - above.baseline < 20 and below.baseline - at.baseline < 20  # no further


def test_formulas_are_tagged_as_formula_with_their_tex(math_title: Built) -> None:
    found = tags(math_title.pdf)
    formula_tags = [tag for tag in found if tag.kind == "/Formula"]
    # The note's text is read where it is set, after the text of its page.
    assert [tag.alt for tag in formula_tags] == [*ABSTRACT, *INTRODUCTION, MATRIX, *MODEL[:5], NOTE, MODEL[5]]
    assert all(tag.marked and tag.box for tag in formula_tags)
    assert "/Figure" not in {tag.kind for tag in found}


def test_formulas_are_drawn_and_leave_no_text(math_title: Built) -> None:
    document = pdfium.PdfDocument(math_title.pdf)
    text = " ".join(document[0].get_textpage().get_text_range().split())
    document.close()
    assert "The demand in period follows the supply" in text
    assert "\\" not in text and "frac" not in text and "D_t" not in text and "_" not in text
    assert "In a note the formula is set at the size of the note's text." in text


def test_formulas_take_the_size_of_their_text(math_title: Built) -> None:
    found = formulas(math_title)
    widths = {}
    for tex in ("D_t", NOTE):
        match = re.search(r"width: ([\d.]+)em", mathematics.svg(tex, False))
        assert match
        widths[tex] = float(match.group(1))
    abstract, body, note = found[0], found[len(ABSTRACT)], found[-2]
    assert (abstract.alt, body.alt, note.alt) == ("D_t", "D_t", NOTE)
    for tag, size in ((abstract, 9), (body, 10), (note, 8)):
        assert tag.box[2] - tag.box[0] == pytest.approx(widths[tag.alt or ""] * size, abs=0.05)


def test_display_equations_are_centred_and_numbered_on_their_baseline(math_title: Built) -> None:
    page = lines(math_title.pdf, 0)
    column = page[line_starting(page, "holds")]  # a justified line: the measure
    centre = (column.left + column.right) / 2
    displays = [tag for tag in formulas(math_title) if tag.alt in MODEL[2:3] + MODEL[4:5]]
    for display in displays:
        assert (display.box[0] + display.box[2]) / 2 == pytest.approx(centre, abs=0.5)
    (number,) = [line for line in page if line.text == "(1)"]
    assert number.right == pytest.approx(column.right, abs=1)
    numbered = displays[0]
    assert numbered.box[1] < number.baseline < numbered.box[3]
    text = " ".join(line.text for line in lines(math_title.pdf, 1))
    assert "(2)" in text and "{#eq" not in text and "eq-delta" not in text


def test_the_epub_carries_mathml_with_the_tex_as_alternate_text(math_title: Built) -> None:
    with zipfile.ZipFile(math_title.epub) as book:
        opf = etree.fromstring(book.read("EPUB/content.opf"))
        manifest = {item.get("id"): item for item in opf.iter("{*}item")}
        spine = [manifest[reference.get("idref")] for reference in opf.iter("{*}itemref")]
        documents = {item.get("href"): (item, etree.fromstring(book.read(f"EPUB/{item.get('href')}")))
                     for item in spine}
    read: list[str | None] = []
    for name, (item, document) in documents.items():
        found = list(document.iter(f"{{{MATHML}}}math"))
        assert ("mathml" in (item.get("properties") or "").split()) == bool(found), name
        read += [formula.get("alttext") for formula in found]
        text = "".join(document.itertext())
        assert "{#eq" not in text and not document.xpath("//*[local-name()='svg'][contains(@class, 'math')]")
    assert read == [*ABSTRACT, *INTRODUCTION, MATRIX, NOTE, *MODEL]
    equations = {element.get("id"): element for _, document in documents.values()
                 for element in document.iter(f"{{{XHTML}}}span") if element.get("class") == "equation"}
    assert sorted(equations) == ["eq-delta", "eq-demand"]
    for identifier, number in (("eq-demand", "(1)"), ("eq-delta", "(2)")):
        (formula,) = equations[identifier].iter(f"{{{MATHML}}}math")
        assert formula.get("display") == "block"
        assert "".join(equations[identifier].find(f"{{{XHTML}}}span").itertext()) == number


def test_the_epub_with_mathml_passes_epubcheck(math_title: Built) -> None:
    run = subprocess.run(validator.command(math_title.epub), capture_output=True, text=True, check=False)
    assert validator.messages(run.stdout) == []


@pytest.mark.parametrize(("formula", "reason"), [
    (r"\frac{a", "a { is never closed"),
    (r"a}b", "a } closes no {"),
    (r"\foo x", r"unknown command \foo"),
    (r"x^", "missing superscript or subscript"),
])
def test_a_formula_that_is_not_tex_stops_the_build_at_its_line(tmp_path: Path, formula: str, reason: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    folder, output = tmp_path / "manuscript", tmp_path / "dist"
    shutil.copytree(FIXTURES / "math", folder)
    body = folder / "body.md"
    body.write_text(body.read_text().replace("the supply of the period", f"the supply ${formula}$ of the period"))
    output.mkdir()
    (output / "kept.txt").write_text("from an earlier build")
    capsys.readouterr()
    assert main(["build", str(folder), "-o", str(output)]) == 1
    error = capsys.readouterr().err.strip()
    assert error == f"{body}:3: the formula ${formula}$ is not valid TeX: {reason}"
    assert [path.name for path in output.iterdir() if path.is_file()] == ["kept.txt"]
