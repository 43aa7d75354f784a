"""The one error type for user mistakes: it knows the file and line it is about."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .characters import one_line


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, at a place; shown as one line, whatever the input put in it."""

    message: str
    path: Path | None = None
    line: int | None = None

    def __str__(self) -> str:
        if self.path is None:
            return one_line(self.message)
        place = display_path(self.path)
        return one_line(f"{place}:{self.line}: {self.message}" if self.line else f"{place}: {self.message}")


class SatsError(Exception):
    """A mistake in the input or the environment that the user can fix."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems

    def __reduce__(self) -> tuple[type[SatsError], tuple[Problem, ...]]:
        return type(self), self.problems  # whole across processes (parallel builds)

    @classmethod
    def at(cls, message: str, path: Path | None = None, line: int | None = None) -> SatsError:
        """Build an error with a single problem."""
        return cls(Problem(message, path, line))


def display_path(path: Path) -> str:
    """Show a path relative to the working directory when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
