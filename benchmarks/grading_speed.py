"""Grading speed on the path users run: the ``grader`` command, the shipped rubrics, the sandbox on.

In one run, on the same machine:

- N nbgrader-style notebooks of each kind (numpy-only, and importing torch) graded by nbgrader's
  ``autograde`` (the baseline) and by ``grader grade rubrics/conv1d.yaml NOTEBOOKS --jobs 1`` and
  ``--jobs 2`` (a fresh output folder each time: no cache), with the ratios, 2 jobs against 1 and
  this machine's own ceiling for that (2 CPU-bound processes against 1, measured now);
- the floor each is measured against: forking a warm kernel from a zygote and running the notebook's
  cells, with no checks at all (the least any Jupyter-faithful grader must do per notebook);
- the per-stage breakdown (staging, kernel start, cells, checks, training, reset) from the reports;
- a class that trains (``submissions/twolayer``, 2 jobs): the grader's overhead over the students' own
  training time (the CPU seconds of their training steps);
- the grader's peak memory while a class of output floods (forged replies, a giant message, a comm
  flood, an output flood) is graded.

    .venv/bin/python -m benchmarks.grading_speed --n 32

Needs the bench extra (``pip install -e '.[bench]'``: nbgrader, psutil). Shared machines are noisy:
read the ratios of one run, not absolute seconds across runs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from benchmarks.nbgrader_baseline import make_nbgrader_notebooks, time_nbgrader_autograde

ROOT = Path(__file__).resolve().parent.parent
GRADER = [sys.executable, "-m", "grader"]
STAGES = ("staging", "kernel_start", "cells", "checks", "training", "reset")
FLOODS = ["comm_flood", "forged_replies", "giant_message.ipynb", "output_flood.ipynb", "repeated_array"]


def grade_command(rubric: Path, items: list[Path], out: Path, jobs: int) -> dict:
    """``grader grade`` as a user runs it; its wall time, the grader process's peak RSS, and the reports."""
    command = [*GRADER, "grade", str(rubric), *map(str, items), "--out", str(out), "--jobs", str(jobs), "--force"]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = PeakRss(process.pid)
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    peak.stop()
    if process.returncode != 0:
        raise SystemExit(f"grader grade failed ({process.returncode}):\n{stdout[-2000:]}\n{stderr[-2000:]}")
    reports = [json.loads(p.read_text()) for p in sorted(out.glob("*/report.json"))]
    return {"seconds": seconds, "reports": reports, "peak_rss": peak.peak}


class PeakRss:
    """The largest resident memory of one process (the grader's), sampled every 50 ms."""

    def __init__(self, pid: int):
        self.peak = 0
        self._process = psutil.Process(pid)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(0.05):
            try:
                self.peak = max(self.peak, self._process.memory_info().rss)
            except psutil.Error:
                return

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def floor(notebooks: list[Path]) -> float:
    """Seconds per notebook to fork a warm kernel and run the notebook's cells, nothing else (1 job)."""
    import nbformat

    from grader.runner.kernel import KernelSession
    from grader.runner.pool import ZygotePool
    from grader.submissions.staging import stage

    pool = ZygotePool()
    zygote = pool.get(0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            staged = [stage(nb, Path(tmp) / f"s{i}") for i, nb in enumerate(notebooks)]
            if "import torch" in notebooks[0].read_text():  # (a slot imports torch once, before its first torch notebook)
                zygote.receive(staged[0].folder)
                zygote.reset()
            started = time.perf_counter()
            for item in staged:
                session = KernelSession(item.folder, zygote=zygote)
                session.start()
                session.run_notebook(nbformat.read(next(item.folder.glob("*.ipynb")), as_version=4))
                session.close()
            return (time.perf_counter() - started) / len(staged)
    finally:
        pool.close()


def stages(reports: list[dict]) -> str:
    means = {stage: statistics.fmean(r.get("timings", {}).get(stage, 0.0) for r in reports) for stage in STAGES}
    return ", ".join(f"{stage} {1000 * seconds:.0f} ms" for stage, seconds in means.items())


def _spin(iterations: int) -> None:
    total = 0
    for i in range(iterations):
        total += i


def parallel_ceiling(iterations: int = 20_000_000) -> float:
    """What 2 processes of pure CPU work get done here, per unit of time, against 1."""
    context = multiprocessing.get_context("fork")
    timings = []
    for width in (1, 2):
        workers = [context.Process(target=_spin, args=(iterations,)) for _ in range(width)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        timings.append(time.perf_counter() - started)
    return 2 * timings[0] / timings[1]


def notebooks_against_nbgrader(kind: str, n: int, tmp: Path) -> dict:
    workdir = tmp / kind
    notebooks = make_nbgrader_notebooks(n, kind, workdir)
    baseline = time_nbgrader_autograde(notebooks, workdir, kind=kind)
    rubric = ROOT / "rubrics" / "conv1d.yaml"
    one = grade_command(rubric, notebooks, tmp / f"{kind}-1", jobs=1)
    two = grade_command(rubric, notebooks, tmp / f"{kind}-2", jobs=2)
    ceiling = parallel_ceiling()
    per_floor = floor(notebooks)
    print(f"\n{kind} notebooks, n={n}, rubric rubrics/conv1d.yaml through `grader grade`")
    print(f"  {'':28} {'seconds':>8} {'s/notebook':>11} {'vs nbgrader':>12}")
    for label, seconds in ((f"nbgrader autograde {baseline['version']}", baseline["seconds"]),
                           ("grader grade --jobs 1", one["seconds"]), ("grader grade --jobs 2", two["seconds"])):
        print(f"  {label:28} {seconds:8.2f} {seconds / n:11.3f} {baseline['seconds'] / seconds:11.1f}x")
    print(f"  2 jobs vs 1: {one['seconds'] / two['seconds']:.2f}x (this machine's ceiling now: {ceiling:.2f}x)")
    print(f"  floor (warm kernel + the notebook's cells, no checks, 1 job): {per_floor:.3f} s/notebook; "
          f"grader grade --jobs 1 is {one['seconds'] / n / per_floor:.2f}x the floor")
    print(f"  per notebook, by stage (--jobs 1): {stages(one['reports'])}")
    theirs = baseline.get("scores", {})
    ours = {r["submission"]: next(c["status"] == "passed" for q in r["questions"] for c in q["checks"] if c["id"] == "conv1d_forward.public")
            for r in one["reports"] if r["status"] == "graded"}
    agree = sum(1 for name, passed in ours.items() if name in theirs and passed == (float(theirs[name]) > 0))
    print(f"  graded {len(ours)}/{n}; conv1d_forward pass/fail agrees with nbgrader on {agree}/{n}; "
          f"grader peak RSS {two['peak_rss'] / 2**20:.0f} MiB")


def training_class(tmp: Path) -> None:
    result = grade_command(ROOT / "rubrics" / "twolayer.yaml", [ROOT / "submissions" / "twolayer"], tmp / "twolayer", jobs=2)
    reports = [r for r in result["reports"] if r["status"] == "graded"]
    own = sum(r.get("timings", {}).get("student_training", 0.0) for r in reports)
    total = sum(r["seconds"] for r in reports)
    print(f"\ntraining class: submissions/twolayer ({len(reports)} submissions, rubrics/twolayer.yaml, --jobs 2): "
          f"{result['seconds']:.1f} s wall")
    print(f"  students' own training (CPU seconds of their steps): {own:.1f} s; all grading of those submissions: {total:.1f} s; "
          f"grader's overhead over their training: {100 * (total - own) / own:.0f}%")
    print(f"  per submission, by stage: {stages(reports)}")


def output_floods(tmp: Path) -> None:
    klass = tmp / "floods"
    klass.mkdir()
    for name in FLOODS:
        source = ROOT / "submissions" / "hostile" / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, klass / name)
    result = grade_command(ROOT / "rubrics" / "conv1d.yaml", [klass], tmp / "floods-out", jobs=1)
    print(f"\noutput floods ({', '.join(FLOODS)}): {result['seconds']:.1f} s; grader peak RSS "
          f"{result['peak_rss'] / 2**20:.0f} MiB while the kernels sent forged replies, a 48 MiB message, 400 MiB of comm "
          "messages and a stream flood")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32, help="notebooks of each kind")
    parser.add_argument("--kinds", default="numpy,torch")
    parser.add_argument("--skip", default="", help="comma-separated: training, floods")
    args = parser.parse_args()
    from grader.runner.cgroups import available as cgroups
    from grader.runner.sandbox import bwrap_available

    print(f"{time.strftime('%Y-%m-%d %H:%M')}; sandbox: {'bubblewrap' if bwrap_available() else 'OFF (limits only)'}"
          f"{', cgroups' if cgroups() else ''}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds.split(","):
            notebooks_against_nbgrader(kind, args.n, Path(tmp))
        if "training" not in args.skip:
            training_class(Path(tmp))
        if "floods" not in args.skip:
            output_floods(Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
