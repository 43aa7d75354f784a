#!/usr/bin/env python3
"""Time Sats against its engines on the first title at several lengths; print one table.

Every command runs in a fresh process; the table shows the median wall time of --runs runs
and the peak resident memory of the slowest. Baselines run in the same session on the same
inputs: WeasyPrint alone on exactly the HTML Sats feeds it (`build --keep-html`), pandoc's own
`--pdf-engine=weasyprint`, pandoc alone to EPUB, and EPUBCheck alone.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sats import pandoc  # noqa: E402
from sats.check import epubcheck_command  # noqa: E402

PYTHON = sys.executable
BUILD = [PYTHON, str(ROOT / "build.py")]


def run(command: list[str], cwd: Path | None = None) -> tuple[float, int]:
    """Wall time (s) and peak memory (MiB) of one run of `command`."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, "PATH": f"{Path(PYTHON).parent}:{os.environ['PATH']}"})
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{process.stderr.read().decode() if process.stderr else ''}")
    return elapsed, usage.ru_maxrss // 1024


def measure(command: list[str], runs: int, before: object = None, cwd: Path | None = None) -> tuple[float, int]:
    """Median time and peak memory over `runs` runs; `before` is called before each run."""
    results = []
    for _ in range(runs):
        if callable(before):
            before()
        results.append(run(command, cwd))
    return statistics.median(t for t, _ in results), max(m for _, m in results)


def lengthen(source: Path, target: Path, times: int) -> None:
    """A copy of the manuscript whose body and notes are repeated `times` times."""
    shutil.copytree(source, target)
    body, notes = (source / "article.md").read_text(), (source / "notes.md").read_text()
    bodies, all_notes = [], []
    for copy in range(times):
        bodies.append(re.sub(r"\[\^(\d+)\]", rf"[^r{copy}n\1]", body))
        all_notes.append(re.sub(r"\[\^(\d+)\]", rf"[^r{copy}n\1]", notes))
    (target / "article.md").write_text("\n\n".join(bodies))
    (target / "notes.md").write_text("\n\n".join(all_notes))
    metadata = (target / "metadata.yaml").read_text()
    (target / "metadata.yaml").write_text(re.sub(r"\n  last-page: \d+", "", metadata))


def bench_size(size: int, runs: int, work: Path) -> list[tuple[str, str, float, int, str]]:
    """Every measurement at one length of the manuscript."""
    manuscript = work / f"m{size}"
    lengthen(ROOT / "manuscript", manuscript, size)
    out = work / f"out{size}"
    build = [*BUILD, "build", str(manuscript), "-o", str(out), "-q"]
    clean = measure([*build, "--force", "--keep-html"], runs)
    html = next(out.glob("*.print.html"))
    epub = next(out.glob("*.epub"))
    weasy = measure([PYTHON, "-c", f"import weasyprint; weasyprint.HTML({str(html)!r})"
                     f".write_pdf({str(work / 'alone.pdf')!r})"], runs)
    sources = [str(manuscript / "article.md"), str(manuscript / "notes.md"), "--citeproc",
               f"--bibliography={manuscript / 'references.json'}",
               f"--csl={ROOT / 'styles/csl/norsk-apa-manual.csl'}", "-M", "lang=nb-NO"]
    pandoc_pdf = measure([pandoc.executable(), *sources, "--pdf-engine=weasyprint", "-o", str(work / "p.pdf")], runs)
    pandoc_epub = measure([pandoc.executable(), *sources, "-o", str(work / "p.epub")], runs)
    noop = measure(build, runs)
    article = manuscript / "article.md"
    text = article.read_text()
    edits = iter(range(1, 1000))
    paragraph = measure(build, runs, lambda: article.write_text(
        text.replace("Vi gjentok det", f"Vi gjentok det{'!' * next(edits)}", 1)))
    css = ROOT / "styles" / "epub.css"
    original = css.read_text()
    try:
        epub_css = measure(build, runs, lambda: css.write_text(original + f"\n/* {time.time()} */\n"))
    finally:
        css.write_text(original)
    check = measure([*BUILD, "check", str(manuscript), "-o", str(out), "-q"], runs)
    epubcheck_alone = measure(epubcheck_command(epub), runs)
    label = f"{size}×"
    return [
        (label, "clean build, all three editions", *clean, f"{clean[0] / weasy[0]:.2f}× WeasyPrint alone"),
        (label, "WeasyPrint alone, same HTML", *weasy, ""),
        (label, "pandoc --pdf-engine=weasyprint", *pandoc_pdf, ""),
        (label, "pandoc alone to EPUB", *pandoc_epub, ""),
        (label, "no-op rebuild", *noop, ""),
        (label, "one paragraph changed", *paragraph, f"{paragraph[0] / weasy[0]:.2f}× WeasyPrint alone"),
        (label, "EPUB CSS changed", *epub_css, ""),
        (label, "check", *check, f"{check[0] / epubcheck_alone[0]:.2f}× EPUBCheck alone"),
        (label, "EPUBCheck alone", *epubcheck_alone, ""),
        (label, "peak memory of the clean build", clean[0], clean[1], f"{clean[1] / weasy[1]:.2f}× WeasyPrint alone"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1,10,40", help="lengths, as multiples of the first title")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    rows: list[tuple[str, str, float, int, str]] = []
    with tempfile.TemporaryDirectory(prefix="sats-bench-") as folder:
        for size in (int(s) for s in options.sizes.split(",")):
            rows += bench_size(size, options.runs if size < 40 else 1, Path(folder))
    print("| size | what | median s | peak MiB | ratio |\n|---|---|---:|---:|---|")
    for size, what, seconds, memory, ratio in rows:
        print(f"| {size} | {what} | {seconds:.2f} | {memory} | {ratio} |")


if __name__ == "__main__":
    main()
