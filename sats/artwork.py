"""The manuscript's images as the press sees them: each file, the Markdown line that places it,
and how to know it again among a PDF's images (WeasyPrint keeps no trace of the file)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from .manuscript import Manuscript, placed_images

ORIENTATION = 0x0112  # the EXIF tag


@dataclass(frozen=True)
class Artwork:
    """An image file of the manuscript, as its Markdown names it, and the line that places it."""

    name: str
    path: Path
    source: Path
    line: int


@dataclass(frozen=True)
class _Raster:
    """A raster image file: its size as WeasyPrint draws it (turned upright by its EXIF
    orientation), and the ICC profile embedded in it, which WeasyPrint drops."""

    path: Path
    size: tuple[int, int]
    profile: bytes | None

    @functools.cached_property
    def digest(self) -> str:
        """A digest of its colour samples as WeasyPrint writes them (read only when asked)."""
        with Image.open(self.path) as original:
            return _digest(ImageOps.exif_transpose(original))


def placed(manuscript: Manuscript) -> tuple[Artwork, ...]:
    """Every image the manuscript's Markdown places, in the order it does."""
    found = []
    for source in (manuscript.abstract, manuscript.body, manuscript.notes, manuscript.translation):
        if source is None:
            continue
        for image in placed_images(source.text):
            path = (source.path.parent / image.target).resolve()
            found.append(Artwork(image.target, path, source.path, image.line))
    return tuple(found)


class Catalogue:
    """The manuscript's raster images, to tell which file a PDF's image was made from."""

    def __init__(self, artworks: tuple[Artwork, ...]) -> None:
        self._placements: dict[Path, tuple[Artwork, ...]] = {}
        for artwork in artworks:
            self._placements[artwork.path] = (*self._placements.get(artwork.path, ()), artwork)
        self._rasters = {path: raster for path in self._placements if (raster := _open(path)) is not None}

    def identify(self, size: tuple[int, int], decode: Callable[[], Image.Image]) -> tuple[Artwork, ...]:
        """Where the manuscript places the file a PDF's image of `size` was made from (the file
        of its size, or among several, the one with its pixels; `decode` decodes the PDF's
        image); nothing if no file is known."""
        same_size = [path for path, raster in self._rasters.items() if raster.size == size]
        if len(same_size) > 1:
            digest = _digest(decode())
            same_size = [path for path in same_size if self._rasters[path].digest == digest]
        return self._placements[same_size[0]] if same_size else ()

    def profile(self, artwork: Artwork) -> bytes | None:
        """The ICC profile embedded in the artwork's file, if any."""
        return self._rasters[artwork.path].profile


def _open(path: Path) -> _Raster | None:
    """A raster image file, or None for a vector image (SVG) or a file that is not an image."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            turned = image.getexif().get(ORIENTATION) in (5, 6, 7, 8)
            return _Raster(path, (height, width) if turned else (width, height), image.info.get("icc_profile") or None)
    except (OSError, UnidentifiedImageError, SyntaxError):
        return None


def _digest(image: Image.Image) -> str:
    """A digest of the image's colour channels as WeasyPrint writes them: without alpha, palettes
    expanded."""
    if "transparency" in image.info or image.mode in ("1", "P", "I", "RGBA"):
        image = image.convert("RGB")
    elif image.mode == "LA":
        image = image.convert("L")
    return hashlib.sha256(image.tobytes()).hexdigest()
