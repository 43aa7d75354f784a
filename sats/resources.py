"""Every path a manuscript names, resolved one way: the Markdown's images, the metadata's files
and what WeasyPrint fetches. A path is decoded, normalised and its symbolic links followed before
it is held to the folders it may come from; a file is held to its kind's size on `stat`, before
anything reads it, and read with that bound."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

# The largest file of each kind a manuscript may hold, in bytes (README, «Limits»).
LIMITS = {
    "text": 5_000_000,  # the body, the notes and the abstracts: a long book is 2 MB
    "metadata": 200_000,
    "bibliography": 5_000_000,
    "style": 1_000_000,  # a CSL style: the APA style Sats ships is 86 kB
    "profile": 5_000_000,  # an ICC profile: the FOGRA39 profile Sats ships is 155 kB
    "image": 50_000_000,  # a large photograph
}
NAMES = {"text": "a text file", "metadata": "a metadata file", "bibliography": "a bibliography",
         "style": "a citation style", "profile": "a printer profile", "image": "an image"}
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")  # a URL, or a drive (C:)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Refused(Exception):
    """A path a manuscript names that may not be used; `outside` says it leads out of its folders
    (or is no path at all), rather than missing or too large."""

    def __init__(self, message: str, *, outside: bool = False) -> None:
        super().__init__(message)
        self.outside = outside


OUTSIDE = "is refused: it must be a file inside the manuscript folder"


def resolve(target: str, base: Path, roots: tuple[Path, ...], kind: str) -> Path:
    """The file `target` names, relative to the folder `base` (percent-encoding decoded, as the
    engines decode it): a regular file inside one of `roots` once every symbolic link is
    followed, no larger than `kind` allows; otherwise Refused says why.

    Refused are URLs and drives, absolute paths, backslashes, control characters (NUL among
    them) and anything encoded twice."""
    path = _decoded(target)
    if SCHEME.match(path) or path.startswith(("/", "~")):
        raise Refused(OUTSIDE, outside=True)
    return _resolved(base / path, roots, kind)


def resolve_url(url: str, roots: tuple[Path, ...], kind: str) -> Path:
    """The file a `file:` URL names (as WeasyPrint asks for one), held as `resolve` holds a path."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        raise Refused(OUTSIDE, outside=True)
    return _resolved(Path(_decoded(parts.path)), roots, kind)


def _decoded(target: str) -> str:
    """`target` percent-decoded once, or Refused if it cannot be a path in a manuscript."""
    try:
        path = unquote(target, errors="strict")
    except UnicodeDecodeError:
        raise Refused(OUTSIDE, outside=True) from None
    if not path.strip() or unquote(path) != path or "\\" in path or CONTROL.search(path):
        raise Refused(OUTSIDE, outside=True)
    return path


def _resolved(path: Path, roots: tuple[Path, ...], kind: str) -> Path:
    """`path` normalised and its links followed, then checked."""
    try:
        resolved = Path(os.path.normpath(path)).resolve()
    except (OSError, RuntimeError, ValueError):  # a loop of links, a name too long
        raise Refused(OUTSIDE, outside=True) from None
    return checked(resolved, roots, kind)


def checked(path: Path, roots: tuple[Path, ...], kind: str) -> Path:
    """`path`, already absolute and resolved, if it is a regular file inside one of `roots` (each
    resolved) no larger than `kind` allows; otherwise Refused says why."""
    if not any(path.is_relative_to(root) for root in roots):
        raise Refused(OUTSIDE, outside=True)
    try:
        status = path.stat()
    except (OSError, ValueError):
        raise Refused("not found") from None
    if not path.is_file():
        raise Refused("not found")
    if status.st_size > LIMITS[kind]:
        raise Refused(f"is {_size(status.st_size)}: larger than the {_size(LIMITS[kind])} allowed for {NAMES[kind]}")
    return path


def read(path: Path, kind: str) -> bytes:
    """The bytes of the file at `path`, read with the bound of its kind (it may have grown since
    it was resolved); Refused if it is larger."""
    limit = LIMITS[kind]
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except OSError as error:
        raise Refused(f"cannot read: {error.strerror}") from None
    if len(data) > limit:
        raise Refused(f"is larger than the {_size(limit)} allowed for {NAMES[kind]}")
    return data


def _size(count: int) -> str:
    """A file size in words: 5 MB, 200 kB, 3.2 GB."""
    for unit, factor in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if count >= factor:
            value = count / factor
            return f"{value:.0f} {unit}" if value == int(value) or value >= 10 else f"{value:.1f} {unit}"
    return f"{count} bytes"
