"""The one boundary to pandoc: the binary shipped in the pypandoc-binary wheel."""

from __future__ import annotations

import functools
import logging
import os
import re
import subprocess
import tempfile
from contextlib import ExitStack
from importlib import metadata
from pathlib import Path

from . import limits
from .errors import Problem, SatsError

LOGGER = logging.getLogger("sats.pandoc")
TIMEOUT = 120  # seconds; the first title takes half a second
# Pandoc's runtime suggests itself a 64 MB heap; at 4 MB it is as fast here and holds ~50 MB less.
# Its heap is capped at 1 GB: the largest body allowed (5 MB) parses within 0.5 GB and is written
# as HTML within 0.7 GB, while a bibliography's macro bomb or a style's endless macro ends at the cap.
HEAP = 1024
RUNTIME = ("+RTS", "-H4m", f"-M{HEAP}m", "-RTS")
HEAP_EXHAUSTED = "Heap exhausted"
MESSAGE = re.compile(r"^\[(WARNING|INFO|ERROR)\]\s*(.*)$")
POSITION = re.compile(r'^Error at (?:"[^"]*" )?\(line (\d+), column (\d+)\):$')  # a reader's syntax error


@functools.cache
def executable() -> str:
    """The path of the pandoc binary inside the pypandoc-binary wheel."""
    import pypandoc

    return str(pypandoc.get_pandoc_path())


def version() -> str:
    """The version of the wheel that ships pandoc, which pins pandoc's."""
    return metadata.version("pypandoc-binary")


def run(args: list[str], stdin: str | None = None, *, sandbox: bool = True,
        epoch: int | None = None, source: Path | None = None) -> str:
    """Run pandoc with `args` on `stdin` (the text of the file `source`, if it is one) and return
    its standard output as text."""
    return start(args, stdin, sandbox=sandbox, epoch=epoch, source=source).result().decode()


def _failure(stderr: str, status: int, source: Path | None) -> Problem:
    """pandoc's error message as one problem: a syntax error in `source` at its line."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    if any(HEAP_EXHAUSTED in line for line in lines):
        return Problem(f"pandoc needed more than its {HEAP // 1024} GB of memory: is a macro in the bibliography "
                       "or the citation style expanding without end?", source)
    for index, line in enumerate(lines[:-1]):
        position = POSITION.match(line)
        if position and source is not None:
            return Problem(f"syntax error at column {position[2]}: {lines[index + 1]}", source, int(position[1]))
    return Problem(f"pandoc failed: {lines[-1] if lines else status}")


class Job:
    """A pandoc run under way: the build goes on while it works."""

    def __init__(self, command: list[str], stdin: str | None, env: dict[str, str], cwd: Path | None,
                 source_path: Path | None = None, expected: re.Pattern[str] | None = None) -> None:
        self._source = source_path  # the file whose text `stdin` is, if it is one
        self._expected = expected
        # Files, not pipes: nothing has to be pumped while pandoc runs, so no thread is needed.
        self._files = ExitStack()
        source, self._stdout, self._stderr = (self._files.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
                                              for _ in range(3))
        source.write((stdin or "").encode())
        source.seek(0)
        try:
            self._process = subprocess.Popen(command, stdin=source, stdout=self._stdout, stderr=self._stderr,
                                             env=env, cwd=cwd, preexec_fn=limits.child(TIMEOUT))
        except BaseException:
            self._files.close()
            raise

    def result(self) -> bytes:
        """Wait for pandoc and return its standard output; its warnings go to logging, and a
        failure raises SatsError with pandoc's message."""
        try:
            status = self._process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.cancel()
            raise SatsError.at(f"pandoc took longer than {TIMEOUT} s: is the manuscript unreasonably large?") from None
        self._stdout.seek(0)
        self._stderr.seek(0)
        stdout, stderr = self._stdout.read(), self._stderr.read().decode(errors="replace")
        self._files.close()
        for line in stderr.splitlines():
            match = MESSAGE.match(line)
            if match and match.group(1) == "WARNING" and not (self._expected and self._expected.match(match.group(2))):
                LOGGER.warning("pandoc: %s", match.group(2))
            elif line.strip():
                LOGGER.debug("pandoc: %s", line)
        if status != 0:
            raise SatsError(_failure(stderr, status, self._source))
        return stdout

    def cancel(self) -> None:
        """Stop pandoc: its result is no longer wanted."""
        self._process.kill()
        self._process.wait()
        self._files.close()


def start(args: list[str], stdin: str | None = None, *, sandbox: bool = True,
          epoch: int | None = None, cwd: Path | None = None, source: Path | None = None,
          expected: re.Pattern[str] | None = None) -> Job:
    """Start pandoc with `args` on `stdin`.

    Pandoc runs sandboxed by default: it may read only the files named on its command line.
    `epoch` is the SOURCE_DATE_EPOCH pandoc stamps into what it writes. Unsandboxed runs
    (the EPUB writer, which the sandbox keeps from its CSS and fonts) must only be given
    documents whose resources were checked (content.check_resources). A syntax error names its
    line in `source`, the file whose text `stdin` is. Warnings that match `expected` are no news
    to the user: they are logged at debug level.
    """
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(epoch)
    return Job([executable(), *RUNTIME, *(["--sandbox"] if sandbox else []), *args], stdin, env, cwd, source,
               expected)
