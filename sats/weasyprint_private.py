"""WeasyPrint below its public API, in one room: the tagging of the archival PDF and the walks
through the laid-out pages' boxes.

Written for WeasyPrint 70.0 (pinned in requirements.lock). Its private names change between
versions without notice, so this module refuses to load with any other version rather than
tag a PDF wrongly or read the wrong boxes.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pydyf
import weasyprint
from weasyprint.formatting_structure import boxes
from weasyprint.pdf import tags

from . import mathematics, typography
from .content import ANCHOR
from .errors import SatsError
from .pdf import NOT_TEXT_ROLES

WRITTEN_FOR = "70.0"
if weasyprint.__version__ != WRITTEN_FOR:
    raise SatsError.at(f"Sats reaches into WeasyPrint {WRITTEN_FOR}'s internals, but WeasyPrint "
                       f"{weasyprint.__version__} is installed: install the version in requirements.lock")


@contextmanager
def tagging_languages_and_notes() -> Iterator[None]:
    """While WeasyPrint tags the PDF: give each structure element of an element in another
    language its `/Lang` (WeasyPrint writes only the document's); tag notes as `/Note` with an
    `/ID`, formulas as `/Formula` (their TeX, the SVG's title, is the `/Alt` WeasyPrint gives a
    figure), lists, list items and headings marked by their ARIA roles as `/L`, `/LI` and `/Hn`;
    give table header cells their scope;
    describe each internal link by its target's text; and keep an element that a page break
    splits one structure element (WeasyPrint tags each page on its own), as PDF/UA asks."""
    build = tags._build_box_tree
    tagging = _Tagging()

    def tagged(box: Any, parent: Any, pdf: Any, *args: Any) -> Iterator[Any]:
        if isinstance(box, boxes.PageBox):
            tagging.index(box)
            yield from tagging.continue_page(pdf, list(build(box, parent, pdf, *args)))
            return
        for element in build(box, parent, pdf, *args):
            tagging.tag(box, element, pdf)
            yield element

    tags._build_box_tree = tagged
    try:
        yield
    finally:
        tags._build_box_tree = build


class _Tagging:
    """What tagging one document remembers: the HTML element of each structure element, the
    notes' identifiers, and the elements with an `id` that links point to."""

    def __init__(self) -> None:
        self.identifiers: set[str] = set()
        self.sources: dict[int, Any] = {}  # structure element's object number: its HTML element
        self.footnote_areas: set[int] = set()
        self.targets: dict[str, Any] = {}
        self.flow: Any = None  # the last structure element of the main text on the pages so far
        self.column_heads: set[int] = set()  # the header cells in a table's head, by id

    def tag(self, box: Any, element: Any, pdf: Any) -> None:
        """Finish `element`, which WeasyPrint made for `box`."""
        source = box.element
        if isinstance(box, boxes.FootnoteAreaBox):
            self.footnote_areas.add(element.number)
        if source is None or box.element_tag in ("html", "body") or "::" in box.element_tag:
            return
        self.sources[element.number] = source
        if source.get("lang"):
            element["Lang"] = pydyf.String(source.get("lang"))
        role = source.get("role")
        if role == "doc-footnote":
            element["S"] = "/Note"
            identifier = source.get("id") or "note"
            while identifier in self.identifiers:
                identifier += "+"
            self.identifiers.add(identifier)
            element["ID"] = pydyf.String(identifier)
        elif role == "list":
            element["S"] = "/L"
        elif role == "listitem" and element["S"] != "/LI":
            element["S"] = "/LI"
            body = pydyf.Dictionary({"Type": "/StructElem", "S": "/LBody", "K": element["K"], "Pg": element["Pg"],
                                     "P": element.reference})
            pdf.add_object(body)
            self.sources[body.number] = source
            for kid in _kids(pdf, body):
                kid["P"] = body.reference
            element["K"] = pydyf.Array([body.reference])
        elif role == "heading" and source.get("aria-level", "").isdigit():
            element["S"] = f"/H{source.get('aria-level')}"
        if mathematics.is_formula(source):
            element["S"] = "/Formula"
        if element["S"] == "/TH":  # a header cell heads its column, or in the body its row
            scope = "/Column" if id(source) in self.column_heads else "/Row"
            element["A"] = pydyf.Dictionary({"O": "/Table", "Scope": scope})
        annotation = box.link_annotation
        if annotation is not None and (source.get("href") or "").startswith("#"):
            target = self.targets.get(source.get("href")[1:])
            if target is not None:
                annotation["Contents"] = pydyf.String(" ".join("".join(target.itertext()).split()))

    def index(self, page: Any) -> None:
        """Find the elements that links may point to, and the header cells of tables' heads, in
        the HTML of the page's document."""
        for child in page.children if not self.targets else ():
            if child.element_tag == "html":
                self.targets = {element.get("id"): element for element in child.element.iter() if element.get("id")}
                self.column_heads = {id(cell) for head in child.element.iter("thead") for cell in head.iter("th")}

    def continue_page(self, pdf: Any, elements: list[Any]) -> list[Any]:
        """A page's top structure elements, where the first of its main text continues the
        element that ended the main text on the pages before (a paragraph, a list) joined to it."""
        flow = [element for element in elements if element.number not in self.footnote_areas]
        if flow and self.flow is not None and self._continues(pdf, self.flow, flow[0]):
            before, after = self.flow, flow[0]
            last, first = _object(pdf, before["K"][-1]), _object(pdf, after["K"][0])
            if last is not None and first is not None and self._continues(pdf, last, first):
                self._join(pdf, last, first)
                del after["K"][0]
                if not len(after["K"]):  # all of it continued the page before
                    elements.remove(after)
                    flow.remove(after)
        self.flow = flow[-1] if flow else self.flow
        return elements

    def _continues(self, pdf: Any, before: Any, after: Any) -> bool:
        """Whether `after` is what a page break left of the element `before` ends with: the same
        HTML element, tagged alike, holding structure elements only (no content of a page)."""
        source = self.sources.get(before.number)
        return (source is not None and source is self.sources.get(after.number) and before["S"] == after["S"]
                and len(before["K"]) > 0 and len(after["K"]) > 0
                and all(_object(pdf, kid) is not None for element in (before, after) for kid in element["K"]))

    def _join(self, pdf: Any, before: Any, after: Any) -> None:
        """Move what `after` holds into `before`, joining the elements at the break too. A
        table's header row repeated on the next page is left out of the structure: it is
        pagination, and finishing marks its content as an artifact."""
        heads = {id(self.sources.get(kid.number)) for kid in _kids(pdf, before) if kid["S"] == "/THead"}
        kids = [kid for kid in after["K"] if not ((element := _object(pdf, kid)) is not None and
                                                  element["S"] == "/THead" and
                                                  id(self.sources.get(element.number)) in heads)]
        if not kids:
            return
        last, first = _object(pdf, before["K"][-1]), _object(pdf, kids[0])
        if last is not None and first is not None and self._continues(pdf, last, first):
            self._join(pdf, last, first)
            kids = kids[1:]
        for kid in kids:
            pdf.objects[_number(kid)]["P"] = before.reference
        before["K"].extend(kids)


def _number(reference: Any) -> int:
    return int(reference.split()[0])


def _object(pdf: Any, kid: Any) -> Any:
    """The structure element a `/K` entry refers to, or None for marked content or an annotation."""
    if not isinstance(kid, bytes):
        return None
    element = pdf.objects[_number(kid)]
    return element if isinstance(element, dict) and element.get("Type") == "/StructElem" else None


def _kids(pdf: Any, element: Any) -> Iterator[Any]:
    """The structure elements `element` holds."""
    for kid in element["K"]:
        found = _object(pdf, kid)
        if found is not None:
            yield found


def page_areas(page: Any) -> Iterator[tuple[bool, Any]]:
    """The boxes of a laid-out page's own content, margin boxes aside, each with whether it is
    the page's footnote area."""
    for child in page._page_box.children:
        if not isinstance(child, boxes.MarginBox):
            yield isinstance(child, boxes.FootnoteAreaBox), child


def is_line(box: Any) -> bool:
    """Whether `box` is a line of text."""
    return isinstance(box, boxes.LineBox)


HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
PX_TO_PT = 0.75  # WeasyPrint measures in CSS pixels


def measure(pages: list[Any], first_page: int) -> typography.Layout:
    """The laid-out pages as the typographic report reads them: each line with where it ends,
    the block it is in, its hyphen, its justification and its note calls; each page with where
    its text may end and the notes at its foot."""
    keys: dict[int, str] = {}
    measured_pages, lines = [], []
    for index, page in enumerate(pages):
        box = page._page_box
        bottom, notes, opens_whole, heights = box.content_box_y() + box.height, [], False, []
        room = float("inf")
        for in_note, area in page_areas(page):
            if in_note:
                room = area.max_height
                if area.children:
                    bottom = area.position_y
                notes += [note.element.get("id") or "" for note in area.children if note.element is not None]
            else:
                opens_whole = _opens_whole(area)
            for line, block in _lines(area):
                measured = _line(line, block, index, in_note, keys)
                lines.append(measured)
                if not in_note:
                    heights.append(line.height)
        line_height = statistics.mode(heights) if heights else 1.0
        measured_pages.append(typography.Page(bottom * PX_TO_PT, line_height * PX_TO_PT, tuple(notes),
                                              note_room=room * PX_TO_PT, opens_whole=opens_whole))
    ordered = sorted(lines, key=lambda line: line.in_note)  # stable: the main text, then the notes
    return typography.Layout(tuple(measured_pages), tuple(ordered), first_page)


def _lines(box: Any) -> Iterator[tuple[Any, Any]]:
    """Each line under `box`, with the block it is a line of."""
    for child in getattr(box, "children", ()):
        if isinstance(child, boxes.LineBox):
            yield child, box
        else:
            yield from _lines(child)


def _opens_whole(box: Any) -> bool:
    """Whether the first content of a page's main area cannot be split: a figure, a table, a
    block kept whole."""
    while box is not None and not isinstance(box, boxes.LineBox):
        if isinstance(box, (boxes.ReplacedBox, boxes.TableBox)) or (
                box.element_tag not in ("html", "body") and box.style["break_inside"] in ("avoid", "avoid-page")):
            return True
        box = box.children[0] if getattr(box, "children", None) else None
    return False


def _block_key(element: Any, keys: dict[int, str]) -> str:
    """A paragraph's anchor, a note's or heading's id, or a name made up for another block."""
    if id(element) not in keys:
        anchor = element.find(f".//*[@{ANCHOR}]") if element.get("role") != "doc-footnote" else None
        keys[id(element)] = (anchor.get(ANCHOR) if anchor is not None else None) or element.get("id") \
            or f"{element.tag}#{len(keys)}"
    return keys[id(element)]


def _line(line: Any, block: Any, page: int, in_note: bool, keys: dict[int, str]) -> typography.Line:
    # The measure is the block's: a line too full for it is as wide as its text.
    texts, right, stretch, calls = [], line.position_x, 0.0, []
    last = None
    for box in line.descendants():
        if box.footnote is not None and box.footnote.element is not None:
            calls.append(box.footnote.element.get("id") or "")
        if not isinstance(box, (boxes.TextBox, boxes.AtomicInlineLevelBox)):
            continue
        right = max(right, box.position_x + box.margin_width())
        if not isinstance(box, boxes.TextBox):
            continue
        last = box
        element = box.element
        if "::" in (box.element_tag or "") or (element is not None and element.get("role") in NOT_TEXT_ROLES):
            continue
        texts.append(box.text)
        if box.justification_spacing:  # beyond the natural space, less any word spacing the style removed
            stretch = (box.justification_spacing + box.style["word_spacing"]) / box.style["font_size"]
    hyphenated = last is not None and last.text.endswith(last.style["hyphenate_character"])
    element = line.element
    return typography.Line(
        page=page, block=_block_key(element, keys) if element is not None else "", text="".join(texts),
        top=line.position_y * PX_TO_PT, bottom=(line.position_y + line.height) * PX_TO_PT, right=right * PX_TO_PT,
        measure=(block.content_box_x() + block.width) * PX_TO_PT, hyphenated=hyphenated,
        stretch=stretch, justified=line.style["text_align_all"] == "justify", in_note=in_note,
        heading=element is not None and element.tag in HEADINGS, calls=tuple(calls))


def outside_the_text_block(document: Any) -> Iterator[tuple[int, Any, float]]:
    """The tables and images that stand out of the text block, with the number of their page
    and by how many CSS pixels. Figures and tables are blocks: lines are not looked into."""
    for number, page in enumerate(document.pages, 1):
        left = page._page_box.content_box_x()
        right = left + page._page_box.width
        pending = [box for _, box in page_areas(page)]
        while pending:
            box = pending.pop()
            if isinstance(box, boxes.TableBox | boxes.ReplacedBox) and box.element is not None:
                start = box.border_box_x()
                excess = max(start + box.border_width() - right, left - start)
                if excess > 0.5:
                    yield number, box.element, excess
            elif not isinstance(box, boxes.LineBox):
                pending += getattr(box, "children", ())
