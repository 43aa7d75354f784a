"""Page previews: each PDF page as a PNG, and a contact sheet of them all."""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image

from . import images

PAGE_WIDTH = 900
THUMB_WIDTH = 300
COLUMNS = 4
GAP = 16


def contact_sheet(pages: list[Image.Image]) -> Image.Image:
    """The pages side by side, four to a row, on a grey ground."""
    thumbs = [page.resize((THUMB_WIDTH, round(page.height * THUMB_WIDTH / page.width))) for page in pages]
    height = max(thumb.height for thumb in thumbs)
    rows = math.ceil(len(thumbs) / COLUMNS)
    sheet = Image.new("RGB", (COLUMNS * (THUMB_WIDTH + GAP) + GAP, rows * (height + GAP) + GAP), "#8a8a8a")
    for index, thumb in enumerate(thumbs):
        row, column = divmod(index, COLUMNS)
        sheet.paste(thumb, (GAP + column * (THUMB_WIDTH + GAP), GAP + row * (height + GAP)))
    return sheet


def write(pdf: Path, folder: Path, first_page: int) -> list[Path]:
    """Write page-NNN.png for every page of `pdf` and contact-sheet.png into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    pages = images.pages(pdf.read_bytes(), PAGE_WIDTH)
    written = []
    for number, page in enumerate(pages, first_page):
        path = folder / f"page-{number}.png"
        path.write_bytes(images.png(page))
        written.append(path)
    sheet = folder / "contact-sheet.png"
    sheet.write_bytes(images.png(contact_sheet(pages)))
    return [*written, sheet]
