"""Python as on a system without libharfbuzz-subset0, though it is installed: put this folder
first on PYTHONPATH (`PYTHONPATH=tests/without_harfbuzz_subset make test`) and every Python
process, the tests' own child processes too, runs this as it starts.

WeasyPrint finds the subsetter with cffi's dlopen, by name. Here that one load fails, as where
the library is missing, so WeasyPrint takes its real fallback: it warns (DeprecationWarning) at
import and subsets the fonts with fontTools. ctypes cannot load it either, so Sats's own probe of
the system libraries (sats/system.py) finds it missing too. With WITHOUT_HARFBUZZ_SUBSET_REPORT
set, a process says on stderr at exit how many loads it refused and whether WeasyPrint found the
subsetter.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import sys
from typing import Any

_refused: list[str] = []


def _refuse(name: Any) -> None:
    if "harfbuzz-subset" in str(name):
        _refused.append(str(name))
        raise OSError(f"{name}: cannot open shared object file: hidden")


class _LibraryWithoutSubsetter(ctypes.CDLL):
    def __init__(self, name: Any, *args: Any, **kwargs: Any) -> None:
        _refuse(name)
        super().__init__(name, *args, **kwargs)


def _report() -> None:
    ffi = sys.modules.get("weasyprint.text.ffi")
    found = getattr(ffi, "harfbuzz_subset", None) is not None
    print(f"without libharfbuzz-subset: refused={len(_refused)} found-by-weasyprint={found}", file=sys.stderr)


ctypes.CDLL = _LibraryWithoutSubsetter  # type: ignore[misc]
try:
    import cffi
except ImportError:  # a Python without the project's packages (make's first check)
    pass
else:
    _dlopen = cffi.FFI.dlopen

    def _dlopen_without_subsetter(self: cffi.FFI, name: Any, *args: Any, **kwargs: Any) -> Any:
        _refuse(name)
        return _dlopen(self, name, *args, **kwargs)

    cffi.FFI.dlopen = _dlopen_without_subsetter  # type: ignore[method-assign]
if os.environ.get("WITHOUT_HARFBUZZ_SUBSET_REPORT"):
    atexit.register(_report)
