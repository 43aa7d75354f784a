"""WeasyPrint below its public API, in one room: the tagging of the archival PDF and the walks
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
    language its `/Lang` (WeasyPrint writes only the document's), tag notes as `/Note`
    with an `/ID`, as PDF/UA asks, and formulas as `/Formula` (their TeX, the SVG's title,
    is the `/Alt` WeasyPrint gives a figure)."""
    build = tags._build_box_tree
    identifiers: set[str] = set()

    def tagged(box: Any, *args: Any) -> Iterator[Any]:
        source = box.element
        own = source is not None and box.element_tag not in ("html", "body") and "::" not in box.element_tag
        for element in build(box, *args):
            if own and source.get("lang"):
                element["Lang"] = pydyf.String(source.get("lang"))
            if own and source.get("role") == "doc-footnote":
                element["S"] = "/Note"
                identifier = source.get("id") or "note"
                while identifier in identifiers:
                    identifier += "+"
                identifiers.add(identifier)
                element["ID"] = pydyf.String(identifier)
            if own and mathematics.is_formula(source):
                element["S"] = "/Formula"
            yield element

    tags._build_box_tree = tagged
    try:
        yield
    finally:
        tags._build_box_tree = build


def page_areas(page: Any) -> Iterator[tuple[bool, Any]]:
    """The boxes of a laid-out page's own content, margin boxes aside, each with whether it is
    the page's footnote area."""
    for child in page._page_box.children:
        if not isinstance(child, boxes.MarginBox):
            yield isinstance(child, boxes.FootnoteAreaBox), child


def is_line(box: Any) -> bool:
    """Whether `box` is a line of text."""
    return isinstance(box, boxes.LineBox)


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
