"""The bounds a build runs within: every child process under resource limits, and the layout
in a process of its own that is stopped at its time budget."""

from __future__ import annotations

import logging
import resource
import signal
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import SatsError

T = TypeVar("T")
FILE_SIZE = 2 * 1024**3  # the largest file a child process may write: an EPUB is tens of MB
MEMORY = 4 * 1024**3  # the address space of pandoc and of the layout (pandoc's heap is capped lower)
WALL_FACTOR = 4  # a budget of processor time is also one of four times as many seconds on the clock


def child(cpu_seconds: int, memory: int | None = MEMORY) -> Callable[[], None]:
    """A `preexec_fn` that puts a child process under limits: `cpu_seconds` of processor time,
    FILE_SIZE per file written, and `memory` of address space (None for a runtime that reserves
    more than it uses, as the JVM does)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE, FILE_SIZE))
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return limit


class _Forward(logging.Handler):
    """Sends each log record, formatted, to the process that waits on this one."""

    def __init__(self, connection: Any) -> None:
        super().__init__()
        self._connection = connection

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args, record.exc_info, record.exc_text = record.getMessage(), None, None, None
        self._connection.send(("log", record))


def _run(work: Callable[[], Any], connection: Any, cpu_seconds: int, memory: int) -> None:
    """In the forked process: run `work` under its limits, send back what it returned or raised."""
    child(cpu_seconds, memory)()
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_Forward(connection))
    try:
        outcome: tuple[str, Any] = ("result", work())
    except MemoryError:
        outcome = ("error", SatsError.at(f"the layout needed more than {memory // 1024**3} GB of memory"))
    except BaseException as error:  # raised again in the waiting process
        outcome = ("error", error)
    try:
        connection.send(outcome)
    except Exception as error:  # an exception that cannot be pickled
        connection.send(("error", RuntimeError(f"{type(outcome[1]).__name__}: {error}")))
    connection.close()


def within(budget: float, what: str, work: Callable[[], T], memory: int = MEMORY) -> T:
    """Run `work` in a forked process and return what it returns (its log records and errors
    are this process's); stop it once it has used `budget` seconds of processor time (or,
    waiting on something else, WALL_FACTOR times that), with a SatsError that says `what` took
    too long. Nothing but its result leaves the process, so a stopped `work` leaves nothing behind."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    seconds = max(1, round(budget))
    process = context.Process(target=_run, args=(work, sending, seconds, memory), daemon=True)
    process.start()
    sending.close()
    deadline = time.monotonic() + WALL_FACTOR * seconds
    too_long = SatsError.at(f"{what} took longer than its budget of {seconds} s of processor time: "
                            "is the manuscript unreasonably large or strange?")
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not receiving.poll(remaining):
                raise too_long
            try:
                kind, payload = receiving.recv()
            except EOFError:
                process.join()
                if process.exitcode == -signal.SIGXCPU:
                    raise too_long from None
                raise SatsError.at(f"{what} stopped unexpectedly (exit status {process.exitcode})") from None
            if kind == "log":
                logging.getLogger(payload.name).handle(payload)
            elif kind == "error":
                raise payload
            else:
                return payload  # type: ignore[no-any-return]
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiving.close()
