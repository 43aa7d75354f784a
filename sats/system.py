"""The system libraries WeasyPrint lays out and subsets fonts with: which are there, in which
version, and the Debian/Ubuntu package that brings each one that is missing.

Standard library only, so that `make` can run it (`python3 -m sats.system`) before anything is
installed. The names are those the dynamic loader finds on Linux, where WeasyPrint finds them too.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Library:
    """A shared library WeasyPrint loads, and the package that installs it."""

    file: str
    package: str
    required: bool = True  # False: WeasyPrint 70 works without it, though the PDFs are other bytes
    version: str | None = None  # the function that tells the library's version, if it shapes the output


LIBRARIES = (
    Library("libgobject-2.0.so.0", "libglib2.0-0"),
    Library("libpango-1.0.so.0", "libpango-1.0-0", version="pango_version_string"),
    Library("libpangoft2-1.0.so.0", "libpangoft2-1.0-0"),
    Library("libharfbuzz.so.0", "libharfbuzz0b", version="hb_version_string"),
    # Without it WeasyPrint subsets fonts with fontTools: the PDFs are other bytes (README).
    Library("libharfbuzz-subset.so.0", "libharfbuzz-subset0", required=False),
    Library("libfontconfig.so.1", "libfontconfig1"),
)


def _load(library: Library) -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(library.file)
    except OSError:
        return None


@functools.cache
def state() -> str:
    """One line per library: its file and its version, `present`, or `missing` (for the build
    cache: each shapes the PDF)."""
    lines = []
    for library in LIBRARIES:
        loaded = _load(library)
        if loaded is None:
            lines.append(f"{library.file} missing")
        elif library.version:
            function = getattr(loaded, library.version)
            function.restype = ctypes.c_char_p
            lines.append(f"{library.file} {function().decode()}")
        else:
            lines.append(f"{library.file} present")
    return "\n".join(lines)


def main() -> int:
    """Name the package to install for each missing library: 1 if one WeasyPrint needs is missing."""
    if not sys.platform.startswith("linux"):
        return 0  # the names above are Linux's; elsewhere WeasyPrint's own message says what is missing
    absent = [library for library in LIBRARIES if _load(library) is None]
    for library in absent:
        need = "WeasyPrint needs it" if library.required else "WeasyPrint subsets fonts with it (recommended)"
        print(f"{library.file} not found: {need}; install it with: apt-get install {library.package}",
              file=sys.stderr)
    return 1 if any(library.required for library in absent) else 0


if __name__ == "__main__":
    sys.exit(main())
