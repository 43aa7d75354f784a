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


def own_folder(output: Path, name: str) -> Path:
    """Sats's own folder `name` inside the output folder (the cache's, the previews'): refused if
    it is a symbolic link or not a folder, through which Sats would write or delete elsewhere."""
    folder = output / name
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise SatsError.at("is a symbolic link or not a folder: Sats writes only inside the output folder", folder)
    return folder
