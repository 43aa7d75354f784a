"""Characters a value from a manuscript may not hold, and text made safe for one line of a report."""

from __future__ import annotations

import re
import unicodedata

# Control characters but the tab and the line feed, and lone surrogates, which no file can
# encode (JSON and YAML escapes make them); in a value of one line, the line feed too.
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")
ONE_LINE_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")
# The bidirectional embeddings, overrides and isolates: they reorder what is shown around them.
BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def control(text: str, lines: bool = False) -> str | None:
    """The first control character in `text`, described («U+0007, a control character»); a line
    break counts as one unless `lines` allows it."""
    match = (CONTROLS if lines else ONE_LINE_CONTROLS).search(text)
    if match is None:
        return None
    character = match.group()
    if character == "\n":
        return "a line break"
    kind = {"Cs": "a lone surrogate", "Zl": "a line separator", "Zp": "a paragraph separator"}.get(
        unicodedata.category(character), "a control character")
    return f"U+{ord(character):04X}, {kind}"


def bidi(text: str) -> str | None:
    """The first bidirectional control in `text`, described."""
    match = BIDI.search(text)
    return f"U+{ord(match.group()):04X}, a bidirectional control" if match else None


def one_line(text: object) -> str:
    """`text` as one line of a report or a message: control characters and line breaks become
    spaces, bidirectional controls are dropped and lone surrogates replaced, so that no value
    forges a line or reorders one."""
    flat = BIDI.sub("", LINE_BREAKS.sub(" ", str(text)))
    return flat.encode("utf-8", "replace").decode("utf-8").strip()


def quoted(value: object, limit: int = 60) -> str:
    """A value as a message quotes it: escaped (repr), and cut short."""
    shown = repr(value)
    return shown if len(shown) <= limit else f"{shown[:limit]}…"


ROMAN = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"),
         (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))


def roman(number: int) -> str:
    """A number in lower-case roman numerals, as front matter is numbered: 1 → i, 14 → xiv."""
    numerals = []
    for value, numeral in ROMAN:
        count, number = divmod(number, value)
        numerals.append(numeral * count)
    return "".join(numerals)
