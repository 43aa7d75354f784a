#!/usr/bin/env python3
"""Time Sats against its engines on the first title at several lengths; print one table.

Every command runs in a fresh process. Times are medians of --runs runs (one at 40×). Peak
memory is the most the whole process tree (Sats, pandoc, WeasyPrint, Java) held resident at
once, sampled every 20 ms in a run of its own so that sampling does not slow the timed runs.
Baselines run in the same session on the same inputs: WeasyPrint alone on exactly the HTML Sats
feeds it (`build --keep-html`), pandoc's own `--pdf-engine=weasyprint`, pandoc alone to EPUB,
and EPUBCheck alone.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pikepdf  # noqa: E402

from sats import pandoc, validator  # noqa: E402

PYTHON = sys.executable
BUILD = [PYTHON, str(ROOT / "build.py")]
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_INTERVAL = 0.02
PR_SET_CHILD_SUBREAPER = 36  # prctl(2)
CORES = 2  # the parallel build of several titles is measured on this many cores
TITLES = 4
ISSUE_TITLES = 8  # an issue of this many articles, against the same built one after another
Row = tuple[str, str, float, int | None, str]


def _environment() -> dict[str, str]:
    return {**os.environ, "PATH": f"{Path(PYTHON).parent}:{os.environ['PATH']}"}


def _tree(root: int) -> tuple[int, dict[int, int]]:
    """The resident memory (bytes) of process `root` and all its descendants, and the processor
    time (clock ticks) each has used."""
    children = collections.defaultdict(list)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            children[int(stat.rpartition(")")[2].split()[1])].append(int(entry.name))
    total, ticks, pending = 0, {}, [root]
    while pending:
        pid = pending.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime
        pending += children.get(pid, [])
    return total, ticks


def run(command: list[str], cwd: Path | None = None, sample: bool = False,
        cores: set[int] | None = None) -> tuple[float, int, float]:
    """Wall time (s) of one run of `command`, and if `sample`, its tree's peak memory (MiB) and
    processor time (s; a process's last 20 ms may be missed)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=_environment(),
                               preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None)
    peak, ticks = 0, {}
    if sample:
        def watch() -> None:
            nonlocal peak
            while process.poll() is None:
                memory, used = _tree(process.pid)
                peak = max(peak, memory)
                ticks.update(used)
                time.sleep(SAMPLE_INTERVAL)

        sampler = threading.Thread(target=watch)
        sampler.start()
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - start
    if sample:
        sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{stderr.decode()}")
    return elapsed, peak // 2**20, sum(ticks.values()) / os.sysconf("SC_CLK_TCK")


def measure(command: list[str], runs: int, before: Callable[[], object] | None = None,
            memory: bool = False, cores: set[int] | None = None) -> tuple[float, int | None]:
    """Median time over `runs` runs (`before` is called before each), and the peak memory of
    one more run if `memory`."""
    times = []
    for _ in range(runs):
        if before:
            before()
        times.append(run(command, cores=cores)[0])
    peak = None
    if memory:
        if before:
            before()
        peak = run(command, sample=True, cores=cores)[1]
    return statistics.median(times[:runs]), peak


def lengthen(source: Path, target: Path, times: int) -> None:
    """A copy of the manuscript whose body and notes are repeated `times` times, its last page
    left for the layout to find."""
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


class Edits:
    """Changes one paragraph of a manuscript, differently each time."""

    def __init__(self, article: Path) -> None:
        self.article, self.text, self.count = article, article.read_text(), 0

    def __call__(self) -> None:
        self.count += 1
        self.article.write_text(self.text.replace("Vi gjentok det", f"Vi gjentok det{'!' * self.count}", 1))


def archival_pdf(out: Path) -> Path:
    return next(path for path in out.glob("*.pdf") if not path.name.endswith(".print.pdf"))


def watch_refresh(manuscript: Path, out: Path, runs: int) -> float:
    """Median time from saving a paragraph to `watch` having replaced the PDF, engines warm."""
    pdf = archival_pdf(out)
    epub = next(out.glob("*.epub"))
    edit = Edits(manuscript / "article.md")
    process = subprocess.Popen([*BUILD, "watch", str(manuscript), "-o", str(out), "-q"], env=_environment(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times = []
    try:
        time.sleep(1)  # its first look: everything is up to date
        for number in range(runs + 1):  # the first edit loads the engines
            before = pdf.stat().st_mtime_ns, epub.stat().st_mtime_ns
            edit()
            start = time.perf_counter()
            while pdf.stat().st_mtime_ns == before[0]:
                time.sleep(0.002)
            if number:
                times.append(time.perf_counter() - start)
            while epub.stat().st_mtime_ns == before[1]:  # the whole build is done
                time.sleep(0.01)
    finally:
        process.terminate()
        process.wait()
    return statistics.median(times)


def page_list_cost(manuscript: Path, out: Path) -> float:
    """Seconds a clean build spends on the page list: reading page starts, placing markers."""
    result = subprocess.run([*BUILD, "build", str(manuscript), "-o", str(out), "--force", "-v"],
                            capture_output=True, text=True, env=_environment(), check=True)
    stages = re.findall(r"^(page starts|page marks)\s+([\d.]+) s$", result.stderr, re.MULTILINE)
    return sum(float(seconds) for _, seconds in stages)


def bench_size(size: int, runs: int, work: Path) -> list[Row]:
    """Every measurement at one length of the manuscript."""
    manuscript = work / f"m{size}"
    lengthen(ROOT / "manuscript", manuscript, size)
    out = work / f"out{size}"
    build = [*BUILD, "build", str(manuscript), "-o", str(out), "-q"]
    clean = measure([*build, "--keep-html"], runs, before=lambda: shutil.rmtree(out, ignore_errors=True),
                    memory=True)
    html = next(out.glob("*.print.html"))
    epub = next(out.glob("*.epub"))
    with pikepdf.open(archival_pdf(out)) as document:
        pages = len(document.pages)
    weasy = measure([PYTHON, "-c", f"import weasyprint; weasyprint.HTML({str(html)!r})"
                     f".write_pdf({str(work / 'alone.pdf')!r})"], runs, memory=True)
    sources = [str(manuscript / "article.md"), str(manuscript / "notes.md"), "--citeproc",
               f"--bibliography={manuscript / 'references.json'}",
               f"--csl={ROOT / 'styles/csl/norsk-apa-manual.csl'}", "-M", "lang=nb-NO"]
    pandoc_pdf = measure([pandoc.executable(), *sources, "--pdf-engine=weasyprint", "-o", str(work / "p.pdf")], runs)
    pandoc_epub = measure([pandoc.executable(), *sources, "-o", str(work / "p.epub")], runs)
    noop = measure(build, runs)
    paragraph = measure(build, runs, Edits(manuscript / "article.md"))
    css = ROOT / "styles" / "epub.css"
    original = css.read_text()
    try:
        epub_css = measure(build, runs, lambda: css.write_text(original + f"\n/* {time.time()} */\n"))
    finally:
        css.write_text(original)
        run(build)
    page_list = page_list_cost(manuscript, out)
    refresh = watch_refresh(manuscript, out, runs)
    check = measure([*BUILD, "check", str(manuscript), "-o", str(out), "-q"], runs)
    epubcheck_alone = measure(validator.command(epub), runs)
    label = f"{size}×"

    def ratio(value: float | int | None, base: float | int | None, of: str) -> str:
        return f"{value / base:.2f}× {of}" if value is not None and base else ""

    return [
        (label, f"clean build, all three files ({pages} pages)", clean[0], clean[1],
         ratio(clean[0], weasy[0], "WeasyPrint alone")),
        (label, "WeasyPrint alone, same HTML", *weasy, ""),
        (label, "pandoc --pdf-engine=weasyprint", *pandoc_pdf, ""),
        (label, "pandoc alone to EPUB", *pandoc_epub, ""),
        (label, "no-op rebuild", *noop, ""),
        (label, "one paragraph changed", *paragraph, ratio(paragraph[0], weasy[0], "WeasyPrint alone")),
        (label, "EPUB CSS changed", *epub_css, ""),
        (label, "page list (page starts + markers) in a clean build", page_list, None,
         f"{100 * page_list / clean[0]:.1f} % of the clean build"),
        (label, "watch: paragraph saved → PDF replaced", refresh, None, ""),
        (label, "check", *check, ratio(check[0], epubcheck_alone[0], "EPUBCheck alone")),
        (label, "EPUBCheck alone", *epubcheck_alone, ""),
        (label, "peak memory of the clean build", clean[0], clean[1], ratio(clean[1], weasy[1], "WeasyPrint alone")),
    ]


def titles(source: Path, work: Path, count: int) -> list[Path]:
    """`count` copies of the manuscript in `source`, each with its own slug: a journal issue."""
    folders = []
    for number in range(1, count + 1):
        folder = work / f"title-{number}"
        shutil.copytree(source, folder)
        with (folder / "metadata.yaml").open("a") as metadata:
            metadata.write(f"slug: title-{number}\n")
        folders.append(folder)
    return folders


def bench_titles(runs: int, work: Path) -> list[Row]:
    """Four titles built one at a time, and -j 2 on two cores."""
    folders = [str(folder) for folder in titles(ROOT / "manuscript", work, TITLES)]
    out = work / "titles"
    available = sorted(os.sched_getaffinity(0))
    cores = set(available[:CORES]) if len(available) > CORES else None
    label = f"{TITLES} titles"
    build = [*BUILD, "build", *folders, "-o", str(out), "-q"]
    serial = measure([*build, "-j", "1"], runs, lambda: shutil.rmtree(out, ignore_errors=True), cores=cores)
    parallel = measure([*build, "-j", str(CORES)], runs, lambda: shutil.rmtree(out, ignore_errors=True),
                       cores=cores)
    return [(label, f"clean builds one at a time, on {CORES} cores", *serial, ""),
            (label, f"clean builds with -j {CORES}, on {CORES} cores", *parallel,
             f"{serial[0] / parallel[0]:.2f}× as fast")]


def timed(command: list[str], cores: set[int] | None) -> tuple[float, float]:
    """Wall time and processor time (s) of one run of `command`, every process of its tree
    counted, without sampling: this process adopts the orphans (a forkserver, which outlives
    the build a moment and has waited for its workers) and waits for them too."""
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed = run(command, cores=cores)[0]
    with contextlib.suppress(ChildProcessError):
        while True:
            os.waitpid(-1, 0)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def bench_issue(runs: int, work: Path) -> list[Row]:
    """An issue of eight articles with -j 2 on two cores against the same articles built one
    after another in one process: in pairs, one of each in turn, so that other work on the
    machine slows both alike; the ratio is the median of the pairs'. Peak memory of the whole
    process tree, in runs of their own, against one article's clean build."""
    folders = titles(ROOT / "manuscript", work / "issue", ISSUE_TITLES)
    issue = work / "issue" / "issue.yaml"
    issue.write_text("journal: Internasjonal Politikk\nvolume: 79\nissue: 3\nyear: 2021\nlang: nb-NO\n"
                     "first-page: 319\narticles:\n" + "".join(f"  - {folder.name}\n" for folder in folders))
    out = work / "issue-out"
    available = sorted(os.sched_getaffinity(0))
    cores = set(available[:CORES]) if len(available) > CORES else None
    label = f"issue of {ISSUE_TITLES}"
    serial = [*BUILD, "build", *map(str, folders), "-o", str(out), "-q", "-j", "1"]
    whole = [*BUILD, "build", str(issue), "-o", str(out), "-q", "-j", str(CORES)]
    pairs = []
    load = os.getloadavg()[0]
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        alone = timed(serial, cores)
        shutil.rmtree(out, ignore_errors=True)
        pairs.append((alone, timed(whole, cores)))
    load = max(load, os.getloadavg()[0])
    ratios = sorted(issue_run[0] / alone[0] for alone, issue_run in pairs)
    shutil.rmtree(out, ignore_errors=True)
    one_time, one, _ = run([*BUILD, "build", str(folders[0]), "-o", str(out), "-q"], sample=True, cores=cores)
    shutil.rmtree(out, ignore_errors=True)
    peak = run(whole, sample=True, cores=cores)[1]

    def median(values: list[float]) -> float:
        return statistics.median(values)

    return [(label, "one article, clean build (sampled)", one_time, one, ""),
            (label, f"the {ISSUE_TITLES} articles one after another, one process, on {CORES} cores",
             median([alone[0] for alone, _ in pairs]), None,
             f"{median([alone[1] for alone, _ in pairs]):.1f} s of processor time"),
            (label, f"the issue, clean build with -j {CORES}, on {CORES} cores (all its files)",
             median([issue_run[0] for _, issue_run in pairs]), peak,
             f"{median(ratios):.2f}× the time (pairs: {', '.join(f'{r:.2f}' for r in ratios)}); "
             f"{peak / one:.2f}× one article's memory; "
             f"{median([issue_run[1] for _, issue_run in pairs]):.1f} s of processor time; "
             f"load average up to {load:.1f}")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1,10,40", help="lengths, as multiples of the first title")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--issue", action="store_true", help="measure only the issue of eight articles")
    options = parser.parse_args()
    rows: list[Row] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sats-bench-") as folder:
        if not options.issue:
            for length in (int(s) for s in options.sizes.split(",")):
                rows += bench_size(length, options.runs if length < 40 else 1, Path(folder))
            rows += bench_titles(options.runs, Path(folder))
        rows += bench_issue(options.runs, Path(folder))
    print("| size | what | median s | peak MiB | ratio |\n|---|---|---:|---:|---|")
    for size, what, seconds, memory, ratio in rows:
        print(f"| {size} | {what} | {seconds:.2f} | {'' if memory is None else memory} | {ratio} |")
    print(f"\nThe benchmark took {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
