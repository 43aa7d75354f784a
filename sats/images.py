"""The one boundary to PDFium: PDF pages as PNG images (the EPUB's cover, previews)."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
from PIL import Image

PNG_OPTIONS = {"optimize": True}


def pages(pdf: bytes, width: int) -> list[Image.Image]:
    """Every page of `pdf` as an image `width` pixels wide."""
    document = pdfium.PdfDocument(pdf)
    try:
        images = []
        for page in document:
            scale = width / page.get_width()
            images.append(page.render(scale=scale).to_pil().convert("RGB"))
            page.close()
        return images
    finally:
        document.close()


def png(image: Image.Image) -> bytes:
    """An image as PNG bytes, with no time stamp in them."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **PNG_OPTIONS)
    return buffer.getvalue()


def labels(pdf: bytes) -> list[str]:
    """The page labels of `pdf` (its printed page numbers), one per page."""
    document = pdfium.PdfDocument(pdf)
    try:
        return [document.get_page_label(index) for index in range(len(document))]
    finally:
        document.close()
