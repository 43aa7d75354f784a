"""The one boundary to WeasyPrint: a fetcher that serves only the project's files, and the PDF."""

from __future__ import annotations

import hashlib
import io
import logging
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .content import ANCHOR
from .errors import SatsError

LOGGER = logging.getLogger("sats.pdf")


# Elements whose text is not the author's running text: note calls and note back-links.
NOT_TEXT_ROLES = ("doc-noteref", "doc-backlink")
NEAREST_ANCHORS = 8


@dataclass(frozen=True)
class PageStart:
    """Where a printed page begins in the text.

    `anchors` are elements the other editions share (by `id` or `data-anchor`), the nearest
    first, each with the number of non-blank characters between its start and the page's
    first character. `in_note` says that the page begins inside a note.
    """

    in_note: bool
    anchors: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Pdf:
    """A rendered PDF and what the build reports about it."""

    data: bytes
    pages: int
    starts: tuple[PageStart, ...] = ()


class _ErrorCollector(logging.Handler):
    """Collects what WeasyPrint could not use: errors (an unusable resource) and the CSS it
    ignored. Both fail the build rather than leave a hole or a wrong style in the PDF."""

    CSS_PROBLEM = ("Ignored", "Parse error", "Invalid", "Unsupported")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.ERROR or message.startswith(self.CSS_PROBLEM):
            self.messages.append(message)
        else:
            LOGGER.debug("WeasyPrint: %s", message)


def _fetcher(roots: tuple[Path, ...]):  # type: ignore[no-untyped-def]
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    class Refused(FatalURLFetchingError):  # type: ignore[misc]
        """A resource outside the project, or missing: the build stops."""

    class ProjectFetcher(URLFetcher):  # type: ignore[misc]
        """Serves `file:` URLs inside the project's folders and nothing else."""

        def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
            parts = urlsplit(url)
            if parts.scheme != "file":
                raise Refused(f"refused {url}: only files inside the project are used")
            path = Path(unquote(parts.path)).resolve()
            if not any(path.is_relative_to(root) for root in roots):
                raise Refused(f"refused {path}: it is outside the project")
            if not path.is_file():
                raise Refused(f"missing resource: {path}")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), headers={"Content-Type": kind})

    return ProjectFetcher(), Refused


def render(html: str, base: Path, roots: tuple[Path, ...], *, identifier: str, epoch: int,
           first_page: int | None = None) -> Pdf:
    """Lay out `html` (its relative URLs resolved against `base`) and write the PDF.

    With `first_page`, the PDF's page labels follow the printed numbers, so that a reader's
    "go to page 325" lands on printed page 325 (WeasyPrint writes no page labels).
    """
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)  # fontTools stamps font subsets with it
    import weasyprint

    fetcher, refused = _fetcher(tuple(root.resolve() for root in roots))
    errors = _ErrorCollector()
    weasyprint_logger = logging.getLogger("weasyprint")
    saved = weasyprint_logger.level, weasyprint_logger.propagate
    weasyprint_logger.addHandler(errors)
    weasyprint_logger.setLevel(logging.WARNING)
    weasyprint_logger.propagate = False  # its messages are ours to report
    try:
        document = weasyprint.HTML(string=html, base_url=base.as_uri() + "/", url_fetcher=fetcher).render()
        data = document.write_pdf(pdf_identifier=hashlib.sha256(identifier.encode()).hexdigest()[:32].encode())
    except refused as error:
        raise SatsError.at(str(error)) from None
    finally:
        weasyprint_logger.removeHandler(errors)
        weasyprint_logger.level, weasyprint_logger.propagate = saved
    if errors.messages:
        raise SatsError.at(f"WeasyPrint cannot use the styles: {errors.messages[0]}")
    assert data is not None
    if first_page is None:
        return Pdf(data, len(document.pages))
    return Pdf(_label_pages(data, first_page), len(document.pages), _page_starts(document))


class _Flow:
    """The text of one flow (the main text, or the notes) read through the laid-out pages:
    non-blank characters counted, and where each anchor began."""

    def __init__(self) -> None:
        self.count = 0
        self.anchors: list[tuple[str, int]] = []
        self.seen: set[str] = set()

    def read(self, box: Any) -> int | None:
        """Read `box` and what it holds; return the count at its first non-blank character."""
        element = box.element
        if element is None or "::" in (box.element_tag or ""):
            return None  # generated text: markers, counters
        if element.get("role") in NOT_TEXT_ROLES:
            return None
        key = element.get(ANCHOR) or element.get("id")
        if key and key not in self.seen:
            self.seen.add(key)
            self.anchors.append((key, self.count))
        text = getattr(box, "text", None)
        if text is not None:
            first = self.count if text.strip() else None
            self.count += _non_blank(text)
            return first
        first = None
        for child in box.children:
            position = self.read(child)
            first = position if first is None else first
        if type(box).__name__ == "LineBox":
            self._unhyphenate(box)
        return first

    def _unhyphenate(self, line: Any) -> None:
        """Do not count the hyphen the typesetter added at the end of `line`."""
        last = line
        while getattr(last, "children", None):
            last = last.children[-1]
        hyphen = getattr(last, "text", None) and last.style["hyphenate_character"]
        if hyphen and last.text.endswith(hyphen):
            self.count -= _non_blank(hyphen)

    def start(self, position: int) -> tuple[tuple[str, int], ...]:
        """The nearest anchors at or before `position`, with the distance from each."""
        before = [(key, position - at) for key, at in self.anchors if at <= position]
        return tuple(reversed(before[-NEAREST_ANCHORS:]))


def _non_blank(text: str) -> int:
    return sum(not character.isspace() for character in text)


def _page_starts(document: Any) -> tuple[PageStart, ...]:
    """Where each page begins: at its first character of the main text, or, on a page of
    notes alone, of the notes."""
    from weasyprint.formatting_structure import boxes

    text, notes = _Flow(), _Flow()
    starts = []
    for page in document.pages:
        first: dict[bool, int | None] = {False: None, True: None}
        for child in page._page_box.children:
            if isinstance(child, boxes.MarginBox):
                continue
            in_note = isinstance(child, boxes.FootnoteAreaBox)
            flow = notes if in_note else text
            position = flow.read(child)
            first[in_note] = position if first[in_note] is None else first[in_note]
        in_note = first[False] is None and first[True] is not None
        position = first[in_note]
        flow = notes if in_note else text
        starts.append(PageStart(in_note, flow.start(flow.count if position is None else position)))
    return tuple(starts)


def _label_pages(data: bytes, first_page: int) -> bytes:
    """Add page labels in decimal numbers from `first_page`, rewriting the PDF reproducibly."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as document:
        document.Root.PageLabels = pikepdf.Dictionary(
            Nums=pikepdf.Array([0, pikepdf.Dictionary(S=pikepdf.Name.D, St=first_page)]))
        output = io.BytesIO()
        document.save(output, deterministic_id=True, compress_streams=True,
                      object_stream_mode=pikepdf.ObjectStreamMode.preserve)
    return output.getvalue()
