"""The project's own typefaces (styles/fonts) and the fonts a PDF embeds: a font from anywhere
else, such as a system fallback for a missing glyph or for an SVG's text, is a mistake."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

import pikepdf
from fontTools.ttLib import TTFont

from .config import TOOL_ROOT

FONTS = TOOL_ROOT / "styles" / "fonts"


def _normalised(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@functools.cache
def families() -> tuple[str, ...]:
    """The family names of the fonts in styles/fonts, normalised, the longest first."""
    names = set()
    for path in FONTS.glob("*.[ot]tf"):
        with TTFont(path, lazy=True) as font:
            table = font["name"]
            names.add(_normalised(str(table.getDebugName(16) or table.getDebugName(1))))
    return tuple(sorted(names, key=len, reverse=True))


def is_own(base_font: str) -> bool:
    """Whether a PDF font (its /BaseFont, with or without a subset tag) is one of the project's."""
    name = _normalised(str(base_font).lstrip("/").split("+", 1)[-1])
    return any(name.startswith(family) for family in families())


def used(resources: pikepdf.Object) -> Iterator[pikepdf.Object]:
    """The fonts of a page's `resources` and of every form drawn with them."""
    seen: set[tuple[int, int]] = set()
    pending = [resources]
    while pending:
        current = pending.pop()
        yield from (current.get("/Font") or {}).values()
        for xobject in (current.get("/XObject") or {}).values():
            if xobject.get("/Subtype") == "/Form" and xobject.objgen not in seen and "/Resources" in xobject:
                seen.add(xobject.objgen)
                pending.append(xobject.Resources)
