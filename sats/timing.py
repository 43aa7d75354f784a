"""The build's stages, timed: `build -v` prints each with its duration."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

LOGGER = logging.getLogger("sats.timing")


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Log a stage of the build with its duration."""
    start = time.perf_counter()
    yield
    LOGGER.info("%-12s %6.2f s", name, time.perf_counter() - start)
