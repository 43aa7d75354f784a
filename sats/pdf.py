"""The one boundary to WeasyPrint: a fetcher that serves only the project's files, and the PDF."""

from __future__ import annotations

import hashlib
import io
import logging
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .errors import SatsError

LOGGER = logging.getLogger("sats.pdf")


@dataclass(frozen=True)
class Pdf:
    """A rendered PDF and what the build reports about it."""

    data: bytes
    pages: int


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
    if first_page is not None:
        data = _label_pages(data, first_page)
    return Pdf(data, len(document.pages))


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
