"""The one boundary to WeasyPrint: a fetcher that serves only the project's files, and the PDF."""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import resources as files
from .content import ANCHOR
from .errors import SatsError
from .timing import stage

LOGGER = logging.getLogger("sats.pdf")


# Hyphenation patterns by the dictionary name pyphen makes of a `lang`, where pyphen's own are
# not the best: English takes the US patterns (Liang's, with the TUGboat exceptions) for British
# spelling too, because pyphen's en_GB patterns, like TeX's British ones they come from, break
# words where no dictionary does (bey-ond, respon-ded, evid-ence). The Norwegian, Swedish and
# Danish patterns are pyphen's own (tests/test_languages.py holds each to dictionary words).
HYPHENATION = {"en": "en_US", "en_GB": "en_US"}

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
    """A rendered PDF and what the build reports about it: for a print edition, where its pages
    begin."""

    data: bytes
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


def _fetcher(roots: tuple[Path, ...], served: Mapping[Path, bytes]):  # type: ignore[no-untyped-def]
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    class Refused(FatalURLFetchingError):  # type: ignore[misc]
        """A resource outside the project, or missing: the build stops."""

    class ProjectFetcher(URLFetcher):  # type: ignore[misc]
        """Serves `file:` URLs inside the project's folders and nothing else; a file made for
        the build (a sanitised SVG) in place of the one at its path."""

        def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
            if urlsplit(url).scheme != "file":
                raise Refused(f"refused {url}: only files inside the project are used")
            try:
                path = files.resolve_url(url, roots, "image")
                data = served[path] if path in served else files.read(path, "image")
            except files.Refused as refused:
                if refused.outside:
                    raise Refused(f"refused {url}: it is outside the project") from None
                raise Refused(f"resource {url} {refused}") from None
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, data, headers={"Content-Type": kind})

    return ProjectFetcher(), Refused


@contextmanager
def _engine(roots: tuple[Path, ...] = (), resources: Mapping[Path, bytes] | None = None) -> Iterator[Any]:
    """Run WeasyPrint with a fetcher confined to `roots`, serving `resources` (by path) in place
    of their files; what it cannot use stops the build."""
    fetcher, refused = _fetcher(tuple(root.resolve() for root in roots), resources or {})
    errors = _ErrorCollector()
    weasyprint_logger = logging.getLogger("weasyprint")
    saved = weasyprint_logger.level, weasyprint_logger.propagate
    weasyprint_logger.addHandler(errors)
    weasyprint_logger.setLevel(logging.WARNING)
    weasyprint_logger.propagate = False  # its messages are ours to report
    try:
        yield fetcher
    except refused as error:
        raise SatsError.at(str(error)) from None
    finally:
        weasyprint_logger.removeHandler(errors)
        weasyprint_logger.level, weasyprint_logger.propagate = saved
    if errors.messages:
        message = errors.messages[0]
        what = "cannot use the styles" if message.startswith(_ErrorCollector.CSS_PROBLEM) else "failed"
        raise SatsError.at(f"WeasyPrint {what}: {message}")


def _hyphenation_patterns() -> None:
    """Give WeasyPrint the patterns of HYPHENATION: it finds them by name in pyphen's table."""
    import pyphen

    for name, source in HYPHENATION.items():
        pyphen.LANGUAGES[name] = pyphen.LANGUAGES[source]


def hyphenation(lang: str) -> Any:
    """The pyphen dictionary WeasyPrint hyphenates `lang` with (a tag such as en-GB)."""
    import pyphen

    _hyphenation_patterns()
    return pyphen.Pyphen(lang=pyphen.language_fallback(lang.replace("-", "_")))


def load() -> None:
    """Load WeasyPrint (half a second): the build calls this while pandoc parses in its own
    process, on the main thread, so that a failed import is the build's own error."""
    from . import weasyprint_private  # noqa: F401  (it imports WeasyPrint and checks its version)


def lay_out(html: str, base: Path, roots: tuple[Path, ...], *, epoch: int,
            resources: Mapping[Path, bytes] | None = None) -> Any:
    """Lay out `html` (its relative URLs resolved against `base`, `resources` served in place of
    the files at their paths): WeasyPrint's document, whose `pages` say how long it is before any
    PDF is written."""
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)  # fontTools stamps font subsets with it
    import weasyprint

    _hyphenation_patterns()
    with _engine(roots, resources) as fetcher, stage("layout"):
        return weasyprint.HTML(string=html, base_url=base.as_uri() + "/", url_fetcher=fetcher).render()


def write(document: Any, *, identifier: str, edition: Edition | None = None) -> Pdf:
    """Write the PDF of a laid-out document.

    For a print edition, WeasyPrint writes the archival PDF (PDF/A-2a and PDF/UA-1, tagged) and
    `finishing` completes it (the PDF for the press is made from that one: the pages are drawn once).
    """
    pdf_identifier = hashlib.sha256(identifier.encode()).hexdigest()[:32].encode()
    with _engine():
        if edition is None:
            return Pdf(document.write_pdf(pdf_identifier=pdf_identifier))
        document.metadata.description = edition.printed_in
        from . import weasyprint_private

        with weasyprint_private.tagging_languages_and_notes(), stage("pdf writing"):
            data = document.write_pdf(pdf_identifier=pdf_identifier, pdf_variant="pdf/a-2a",
                                      uncompressed_pdf=True)  # finishing compresses, faster
    from . import finishing

    with stage("finishing"):
        archival = finishing.archival(data, edition.first_page, edition.orcids)
    with stage("page starts"):
        starts = _page_starts(document)
    return Pdf(archival, starts)


@dataclass(frozen=True)
class Edition:
    """A print edition: its first page number, where it is printed (the PDF's subject, once the
    layout knows the last page), and its authors' ORCID iDs, in order ('' for an author without)."""

    first_page: int
    printed_in: str
    orcids: tuple[str, ...] = ()


class _Flow:
    """The text of one flow (the main text, or the notes) read through the laid-out pages:
    non-blank characters counted, and where each anchor began."""

    def __init__(self) -> None:
        self.count = 0
        self.anchors: list[tuple[str, int]] = []
        self.seen: set[str] = set()

    def read(self, box: Any) -> int | None:
        """Read `box` and what it holds; return the count at its first non-blank character."""
        from . import weasyprint_private

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
        if weasyprint_private.is_line(box):
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
    from . import weasyprint_private

    text, notes = _Flow(), _Flow()
    starts = []
    for page in document.pages:
        first: dict[bool, int | None] = {False: None, True: None}
        for in_note, child in weasyprint_private.page_areas(page):
            flow = notes if in_note else text
            position = flow.read(child)
            first[in_note] = position if first[in_note] is None else first[in_note]
        in_note = first[False] is None and first[True] is not None
        position = first[in_note]
        flow = notes if in_note else text
        starts.append(PageStart(in_note, flow.start(flow.count if position is None else position)))
    return tuple(starts)


MM = 25.4 / 96  # WeasyPrint lays out in CSS pixels


def overflows(document: Any) -> list[str]:
    """The tables and figures' images that stand out of the text block (a table whose columns
    cannot be narrower), each said once: which, on which page, by how much."""
    from . import weasyprint_private

    found: dict[Any, str] = {}
    for number, element, excess in weasyprint_private.outside_the_text_block(document):
        if element not in found:
            found[element] = f"{_name(element)} is {excess * MM:.1f} mm wider than the text block " \
                             f"(page {number} of the layout)"
    return list(found.values())


def _name(element: Any) -> str:
    """A table or image as the reader knows it: by its caption's label, or else its file."""
    holder = element.getparent() if element.tag == "img" and element.getparent() is not None else element
    label = holder.find(".//span[@class='caption-label']")
    if label is not None:
        return "".join(label.itertext()).rstrip(".").replace("\u00a0", " ")
    return f"image {element.get('src')}" if element.tag == "img" else "a table"
