"""Equations: TeX math set as mathematics in both editions.

The print edition draws each formula as SVG paths (ziamath, with its STIX Two Math font), sized in
em so that it takes the size of the text around it, its TeX the alternate text of the PDF's
Formula; the EPUB carries pandoc's MathML, its TeX in `alttext`. A display equation labelled
`{#eq-…}` is numbered in both.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from .errors import SatsError
from .manuscript import Manuscript

if TYPE_CHECKING:
    from .content import Content

Block = dict[str, Any]
LABEL = re.compile(r"^\{#(eq-[^\s{}]+)\}$")
# Formulas are drawn at this many SVG units to the em, then set in em at the size of their text.
UNITS_PER_EM = 100
# An inline formula does not count in its line while it stays clear of the letters of the lines
# around it, so that the lines keep their grid: at the body's pitch (1.35em) and with Source Serif
# 4's ascenders (0.75em) and descenders (0.25em), that leaves it 1.1em above its baseline and 0.6em
# below (ROOM). Its box is shrunk by how far that reaches beyond the line's own box (REACH); a
# formula beyond the room counts, with 0.1em to spare, as TeX's \lineskip.
ROOM = (1.1, 0.6)
REACH = (0.07, 0.27)
LINESKIP = 0.1
UNKNOWN_COMMAND = re.compile(r">(\\[A-Za-z]+)<")
SVG = "http://www.w3.org/2000/svg"
MATHML = "http://www.w3.org/1998/Math/MathML"


class FormulaError(ValueError):
    """A formula that is not valid TeX."""


def formulas(blocks: Any) -> Iterator[tuple[str, bool]]:
    """Every formula under `blocks`: its TeX and whether it is displayed."""
    if isinstance(blocks, list):
        for item in blocks:
            yield from formulas(item)
    elif isinstance(blocks, dict):
        if blocks.get("t") == "Math":
            yield blocks["c"][1], blocks["c"][0]["t"] == "DisplayMath"
        else:
            yield from formulas(blocks.get("c"))


def any_in(parsed: bytes) -> bool:
    """Whether pandoc's JSON of a document holds any formula: a look at its bytes, far quicker
    than a walk through its tree."""
    return b'"t":"Math"' in parsed


def check(article: Content, manuscript: Manuscript) -> None:
    """Typeset every formula once; a formula that is not valid TeX stops the build at its line."""
    if not article.formulas:
        return
    for tex, display in formulas(list(article.parts.values())):
        try:
            svg(tex, display)
        except FormulaError as error:
            path, line = _place(tex, manuscript)
            raise SatsError.at(f"the formula ${tex.strip()}$ is not valid TeX: {error}", path, line) from None


def _place(tex: str, manuscript: Manuscript) -> tuple[Any, int | None]:
    """The file and line where `tex` is written."""
    sources = [s for s in (manuscript.abstract, manuscript.body, manuscript.notes, manuscript.translation) if s]
    for written in (f"${tex}$", tex):  # with its dollars: not inside a longer formula
        for source in sources:
            index = source.text.find(written)
            if index >= 0:
                return source.path, source.text.count("\n", 0, index) + 1
    return manuscript.body.path, None


@functools.cache
def _renderer() -> Any:
    import latex2mathml.exceptions
    import ziamath
    from ziamath.config import config

    config.svg2 = False  # each glyph a path of its own formula: no shared ids in the page
    config.precision = 2
    errors = tuple(kind for kind in vars(latex2mathml.exceptions).values()
                   if isinstance(kind, type) and issubclass(kind, Exception))
    return ziamath, (*errors, AssertionError, ElementTree.ParseError)


@functools.lru_cache(maxsize=4096)
def svg(tex: str, display: bool) -> str:
    """The formula drawn as an SVG element: glyphs as paths, sized in em, its TeX as its title."""
    _balanced(tex)
    ziamath, errors = _renderer()
    try:
        formula = ziamath.Math.fromlatex(tex, size=UNITS_PER_EM, inline=not display, margin=0)
        unknown = UNKNOWN_COMMAND.search(formula.mathmlstr())
        if unknown:
            raise FormulaError(f"unknown command {unknown.group(1)}")
        element = formula.svgxml()
    except errors as error:
        raise FormulaError(_reason(error)) from None
    box = formula.node.bbox
    above, below = box.ymax / UNITS_PER_EM, -box.ymin / UNITS_PER_EM
    width = (box.xmax - box.xmin) / UNITS_PER_EM
    for name in ("width", "height", "xmlns:xlink"):
        element.attrib.pop(name, None)
    element.set("class", "math display" if display else "math inline")
    # The formula's baseline on the line's; inline, its box shrunk within the room it has.
    margins = (0.0, 0.0) if display else tuple(min(extent, reach if extent <= room else reach - LINESKIP)
                                               for extent, room, reach in zip((above, below), ROOM, REACH, strict=True))
    element.set("style", f"width: {width:.3f}em; height: {above + below:.3f}em; "
                         f"vertical-align: {margins[1] - below:.3f}em; "
                         f"margin-top: {-margins[0]:.3f}em; margin-bottom: {-margins[1]:.3f}em")
    title = ElementTree.Element("title")
    title.text = tex.strip()
    element.insert(0, title)
    return ElementTree.tostring(element, encoding="unicode", short_empty_elements=False)


def _balanced(tex: str) -> None:
    depth = 0
    for token in re.findall(r"\\.|[{}]", tex):
        depth += {"{": 1, "}": -1}.get(token, 0)
        if depth < 0:
            raise FormulaError("a } closes no {")
    if depth:
        raise FormulaError("a { is never closed")


def _reason(error: Exception) -> str:
    """What is wrong, in words: latex2mathml names it in its exception's class."""
    name = type(error).__name__.removesuffix("Error")
    if type(error).__module__.startswith("latex2mathml"):
        return " ".join(re.findall(r"[A-Z][a-z]*", name.replace("SuperScript", "Superscript"))).lower()
    return "it cannot be set"


def _rewrite(node: Any, inlines: Any) -> Any:
    """`node` with `inlines` applied to every list of AST elements in it, innermost first; what
    does not change is not copied."""
    if isinstance(node, list):
        items = [_rewrite(item, inlines) for item in node]
        if items and all(isinstance(item, dict) and "t" in item for item in items):
            items = inlines(items)
        same = len(items) == len(node) and all(new is old for new, old in zip(items, node, strict=True))
        return node if same else items
    if isinstance(node, dict):
        values = {key: _rewrite(value, inlines) for key, value in node.items()}
        return node if all(values[key] is value for key, value in node.items()) else values
    return node


def number(parts: dict[str, list[Block]]) -> dict[str, list[Block]]:
    """Number the display equations labelled `{#eq-…}`, in reading order: each becomes a span
    with the label as its id, holding the formula and its number."""
    count = 0

    def inlines(items: list[Block]) -> list[Block]:
        nonlocal count
        result: list[Block] = []
        for item in items:
            label = LABEL.match(item["c"]) if item["t"] == "Str" else None
            gap = 1 if len(result) > 1 and result[-1]["t"] in ("Space", "SoftBreak") else 0
            formula = result[-1 - gap] if len(result) > gap else None
            if label and formula is not None and _displayed(formula):
                count += 1
                del result[-1 - gap:]
                result.append({"t": "Span", "c": [[label.group(1), ["equation"], []], [
                    formula, {"t": "Span", "c": [["", ["equation-number"], []], [{"t": "Str", "c": f"({count})"}]]}]]})
            else:
                result.append(item)
        return result

    return {name: _rewrite(blocks, inlines) for name, blocks in parts.items()}


def drawn(block: Block) -> Block:
    """A block of the print edition: each formula drawn as SVG; a displayed one on a line of its
    own, and a paragraph that is only a display not indented as a paragraph."""
    if next(formulas(block), None) is None:
        return block

    def inlines(items: list[Block]) -> list[Block]:
        result: list[Block] = []
        for item in items:
            if _set_apart(item) and any(_visible(before) for before in result):
                result.append({"t": "LineBreak"})  # the line before it is not justified
            result.append(_drawing(item) if item["t"] == "Math" else item)
        return result

    def paragraphs(items: list[Block]) -> list[Block]:
        return [{"t": "Plain", "c": item["c"]} if item["t"] == "Para" and _display_only(item["c"]) else item
                for item in items]

    result: Block = _rewrite(_rewrite([block], paragraphs), inlines)[0]
    return result


def _visible(item: Block) -> bool:
    """Whether `item` sets anything on the line: not a space nor an empty span (an anchor)."""
    return item["t"] not in ("Space", "SoftBreak") and not (item["t"] == "Span" and not item["c"][1])


def _display_only(items: list[Block]) -> bool:
    visible = [item for item in items if _visible(item)]
    return bool(visible) and all(_set_apart(item) for item in visible)


def _set_apart(item: Block) -> bool:
    """Whether `item` is a displayed formula, numbered or not."""
    return _displayed(item) or (item["t"] == "Span" and "equation" in item["c"][0][1])


def _displayed(node: Block) -> bool:
    return bool(node["t"] == "Math" and node["c"][0]["t"] == "DisplayMath")


def _drawing(math: Block) -> Block:
    display = _displayed(math)
    drawing = {"t": "RawInline", "c": ["html", svg(math["c"][1], display)]}
    return {"t": "Span", "c": [["", ["display-math"], []], [drawing]]} if display else drawing


def in_epub(tree: Any) -> bool:
    """Set each formula of an EPUB document as MathML with its TeX as `alttext`, for reading
    systems that cannot read MathML: the text comes with pandoc's MathML, the front matter with
    the print edition's drawings, which latex2mathml converts. Whether the document has any."""
    from latex2mathml.converter import convert
    from lxml import etree

    for drawing in [element for element in tree.iter(f"{{{SVG}}}svg") if is_formula(element)]:
        tex = drawing.findtext(f"{{{SVG}}}title")
        mode = "block" if "display" in drawing.get("class").split() else "inline"
        formula = etree.fromstring(convert(tex, display=mode))
        formula.set("alttext", tex)
        formula.tail = drawing.tail
        drawing.getparent().replace(drawing, formula)
    formulas = list(tree.iter(f"{{{MATHML}}}math"))
    for formula in formulas:
        tex = formula.findtext(f".//{{{MATHML}}}annotation[@encoding='application/x-tex']")
        if tex is not None:
            formula.set("alttext", tex.strip())
    return bool(formulas)


def is_formula(element: Any) -> bool:
    """Whether an element of the print HTML (or of the EPUB, before in_epub) is a drawn formula."""
    return bool(element.tag == f"{{{SVG}}}svg" and "math" in (element.get("class") or "").split())
