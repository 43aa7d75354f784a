"""The one boundary to pandoc: the binary shipped in the pypandoc-binary wheel."""

from __future__ import annotations

import functools
import logging
import os
import re
import subprocess
from pathlib import Path

from .errors import SatsError

LOGGER = logging.getLogger("sats.pandoc")
TIMEOUT = 120  # seconds; the first title takes half a second
MESSAGE = re.compile(r"^\[(WARNING|INFO|ERROR)\]\s*(.*)$")


@functools.cache
def executable() -> str:
    """The path of the pandoc binary inside the pypandoc-binary wheel."""
    import pypandoc

    return str(pypandoc.get_pandoc_path())


def run(args: list[str], stdin: str | None = None, *, sandbox: bool = True,
        epoch: int | None = None) -> str:
    """Run pandoc with `args` on `stdin` and return its standard output as text."""
    return execute(args, stdin, sandbox=sandbox, epoch=epoch).decode()


def execute(args: list[str], stdin: str | None = None, *, sandbox: bool = True,
            epoch: int | None = None, cwd: Path | None = None) -> bytes:
    """Run pandoc with `args` on `stdin` and return its standard output.

    Pandoc runs sandboxed by default: it may read only the files named on its command line.
    Its warnings are passed on to logging; a failure raises SatsError with pandoc's message.
    `epoch` is the SOURCE_DATE_EPOCH pandoc stamps into what it writes. Unsandboxed runs
    (the EPUB writer, which the sandbox keeps from its CSS and fonts) must only be given
    documents whose resources were checked (content.check_resources).
    """
    command = [executable(), *(["--sandbox"] if sandbox else []), *args]
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(epoch)
    try:
        result = subprocess.run(command, input=stdin.encode() if stdin is not None else None,
                                capture_output=True, env=env, cwd=cwd, check=False, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise SatsError.at(f"pandoc took longer than {TIMEOUT} s: is the manuscript unreasonably large?") from None
    stderr = result.stderr.decode(errors="replace")
    for line in stderr.splitlines():
        match = MESSAGE.match(line)
        if match and match.group(1) == "WARNING":
            LOGGER.warning("pandoc: %s", match.group(2))
        elif line.strip():
            LOGGER.debug("pandoc: %s", line)
    if result.returncode != 0:
        last = stderr.strip().splitlines()
        raise SatsError.at(f"pandoc failed: {last[-1] if last else result.returncode}")
    return result.stdout
