"""The CI workflow for users of the toolchain is a valid GitHub Actions workflow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def test_workflow_validates_against_the_github_schema() -> None:
    workflow = ROOT / ".github" / "workflows" / "editions.yml"
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.github-workflows", str(workflow)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_runs_the_tests_builds_checks_and_uploads() -> None:
    text = (ROOT / ".github" / "workflows" / "editions.yml").read_text()
    for step in ("make test", "make build", "build.py check", "build.py preview", "upload-artifact"):
        assert step in text
