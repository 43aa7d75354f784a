"""Page previews: each PDF page as a PNG, and a contact sheet of them all."""

from __future__ import annotations

import math
import re
from pathlib import Path

from PIL import Image

from . import images
from .output import own_folder

PAGE_WIDTH = 900
THUMB_WIDTH = 300
COLUMNS = 4
GAP = 16
SHEET = "contact-sheet.png"
WRITTEN = re.compile(rf"page-\d+\.png|{re.escape(SHEET)}")  # the names of the files `write` writes


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


def folder(output: Path, slug: str) -> Path:
    """The folder of a title's previews, OUTPUT/preview/SLUG; refused if either is a symbolic link."""
    return own_folder(own_folder(output, "preview"), slug)


def write(pdf: Path, folder: Path, first_page: int) -> list[Path]:
    """Write page-N.png for every page N of `pdf` and contact-sheet.png into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    pages = images.pages(pdf.read_bytes(), PAGE_WIDTH)
    written = []
    for number, page in enumerate(pages, first_page):
        path = folder / f"page-{number}.png"
        path.write_bytes(images.png(page))
        written.append(path)
    sheet = folder / SHEET
    sheet.write_bytes(images.png(contact_sheet(pages)))
    return [*written, sheet]


def remove(folder: Path, written: re.Pattern[str] = WRITTEN) -> None:
    """Remove the files `write` wrote into `folder` (or those `written` names), and the folder and
    its parent once empty."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if written.fullmatch(path.name) and path.is_file():
            path.unlink()
    for empty in (folder, folder.parent):
        if any(empty.iterdir()):
            break
        empty.rmdir()
