"""WeasyPrint below its public API, in one room: the tagging of the archival PDF and the walk
through the laid-out pages' boxes.

Written for WeasyPrint 70.0 (pinned in requirements.lock). Its private names change between
versions without notice, so this module refuses to load with any other version rather than
tag a PDF wrongly or read the wrong boxes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pydyf
import weasyprint
from weasyprint.formatting_structure import boxes
from weasyprint.pdf import tags

from . import mathematics
from .errors import SatsError

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
        annotation = box.link_annotation
        if annotation is not None and (source.get("href") or "").startswith("#"):
            target = self.targets.get(source.get("href")[1:])
            if target is not None:
                annotation["Contents"] = pydyf.String(" ".join("".join(target.itertext()).split()))

    def index(self, page: Any) -> None:
        """Find the elements that links may point to, in the HTML of the page's document."""
        for child in page.children if not self.targets else ():
            if child.element_tag == "html":
                self.targets = {element.get("id"): element for element in child.element.iter() if element.get("id")}

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
        """Move what `after` holds into `before`, joining the elements at the break too."""
        kids = list(after["K"])
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
