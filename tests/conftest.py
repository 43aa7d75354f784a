"""Shared fixtures: each title is built once per session with the real engines."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(ROOT))

from sats import (  # noqa: E402
    config,
    content,
    manuscript,
    validator,
)
from sats.cli import main  # noqa: E402


@dataclass(frozen=True)
class Built:
    """A manuscript built into a temporary output folder."""

    project: config.Project
    output: Path
    pdf: Path
    epub: Path


def build(folder: Path, output: Path) -> Built:
    """Build `folder` into `output` through the command line, in this process."""
    code = main(["build", str(folder), "-o", str(output), "-q", "--keep-html"])
    assert code == 0
    project = config.load(folder)
    return Built(project, output, output / f"{project.slug}.pdf", output / f"{project.slug}.epub")


@pytest.fixture(scope="session")
def first_title(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The first title, built from the project's manuscript folder."""
    return build(ROOT / "manuscript", tmp_path_factory.mktemp("first-title"))


@pytest.fixture(scope="session")
def article() -> content.Content:
    """The first title's manuscript, parsed with its citations rendered."""
    return content.parse(manuscript.read(config.load(ROOT / "manuscript")))


@pytest.fixture(scope="session")
def mini(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """A small English fixture manuscript with a BibLaTeX bibliography."""
    return build(FIXTURES / "mini", tmp_path_factory.mktemp("mini"))


@pytest.fixture(scope="session")
def epubcheck_reports(first_title: Built, mini: Built) -> dict[str, list[str]]:
    """EPUBCheck's errors and warnings for each built EPUB: one run each, in parallel."""
    runs = {name: subprocess.Popen(validator.command(built.epub), stdout=subprocess.PIPE, text=True,
                                   stderr=subprocess.DEVNULL)
            for name, built in (("first_title", first_title), ("mini", mini))}
    return {name: validator.messages(run.communicate()[0]) for name, run in runs.items()}


@pytest.fixture
def manuscript_copy(tmp_path: Path) -> Path:
    """A writable copy of the small fixture manuscript."""
    target = tmp_path / "manuscript"
    shutil.copytree(FIXTURES / "mini", target)
    return target


@pytest.fixture(scope="session")
def long_title(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The first title with its body and notes repeated twelve times: over a hundred pages."""
    from bench.run import lengthen

    folder = tmp_path_factory.mktemp("long-title") / "manuscript"
    lengthen(ROOT / "manuscript", folder, 12)
    return build(folder, folder.parent / "dist")
