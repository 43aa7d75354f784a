"""Writing outputs: whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import SatsError


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file beside it, so that `path` is never half
    written, and two builds writing at once leave one whole file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as error:
        raise SatsError.at(f"cannot write here: {error.strerror}", path.parent) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        raise SatsError.at(f"cannot write: {error.strerror}", path) from None
    finally:
        Path(temporary).unlink(missing_ok=True)
