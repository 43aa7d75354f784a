"""Run Python as on a system without libharfbuzz-subset0, though it is installed:
`python tests/without_harfbuzz_subset.py build.py build …` or `… -m pytest …`.

WeasyPrint finds the subsetter with cffi's dlopen, by name. Here that one dlopen fails, as it
does where the library is missing, so WeasyPrint takes its real fallback: it warns
(DeprecationWarning) at import and subsets the fonts with fontTools. At exit a last line on
stderr says how many times a load was refused and whether WeasyPrint found the subsetter.
(Sats's own probe of the system libraries, sats/system.py, goes through ctypes and still sees it.)
"""

from __future__ import annotations

import atexit
import runpy
import sys
from pathlib import Path
from typing import Any

import cffi

_dlopen = cffi.FFI.dlopen
_refused: list[str] = []


def _dlopen_without_subsetter(self: cffi.FFI, name: Any, *args: Any, **kwargs: Any) -> Any:
    if "harfbuzz-subset" in str(name):
        _refused.append(str(name))
        raise OSError(f"cannot load library {name!r}: hidden")
    return _dlopen(self, name, *args, **kwargs)


def _report() -> None:
    ffi = sys.modules.get("weasyprint.text.ffi")
    found = getattr(ffi, "harfbuzz_subset", None) is not None
    print(f"without libharfbuzz-subset: refused={len(_refused)} found-by-weasyprint={found}", file=sys.stderr)


cffi.FFI.dlopen = _dlopen_without_subsetter  # type: ignore[method-assign]
atexit.register(_report)
if __name__ == "__main__":
    if sys.argv[1] == "-m":
        sys.argv = sys.argv[2:]
        runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
    else:
        sys.argv = sys.argv[1:]
        sys.path.insert(0, str(Path(sys.argv[0]).resolve().parent))
        runpy.run_path(sys.argv[0], run_name="__main__")
