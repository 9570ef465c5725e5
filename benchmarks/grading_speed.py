"""Grading throughput: our grader (warm zygote, sandbox on) against nbgrader's autograde, same run.

Builds N student notebooks of each kind (numpy-only, and importing torch), grades them with
nbgrader (``nbgrader autograde``, the baseline, measured in this same run) and with our grader
(cold kernels and warm zygote kernels, 1 and 2 jobs), and prints seconds, per-notebook seconds,
ratios against the baseline, the zygote's start-up (paid once per job slot, included in the totals)
and the peak memory of the worker processes.

    .venv/bin/python -m benchmarks.grading_speed --n 16
    .venv/bin/python -m benchmarks.grading_speed --n 64 --no-cold     # class scale

Needs nbgrader (``pip install nbgrader``, an optional dev dependency). Timings on shared machines are
noisy: compare only the ratios of one run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from benchmarks.nbgrader_baseline import make_nbgrader_notebooks, time_nbgrader_autograde
from grader import grade_class, load_assignment
from grader.runner.sandbox import bwrap_available
from grader.runner.zygote import Zygote

RUBRIC = Path(__file__).with_name("bench_conv1d.yaml")


class PeakMemory:
    """Samples the resident memory of our worker processes while a run lasts: the zygotes and the kernels
    they fork (a forked kernel's RSS counts the pages it still shares with its zygote)."""

    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self.peaks = {"zygote": 0, "kernel": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(self.interval):
            for process in me.children(recursive=True):
                try:
                    if process.name() == "bwrap" or "grader_worker.zygote" not in " ".join(process.cmdline()):
                        continue  # (bwrap's own command line names the zygote too)
                    parent = process.parent()
                    kind = "kernel" if parent.name() != "bwrap" and "grader_worker.zygote" in " ".join(parent.cmdline()) else "zygote"
                    self.peaks[kind] = max(self.peaks[kind], process.memory_info().rss)
                except (psutil.Error, AttributeError):
                    continue


def ours(notebooks: list[Path], jobs: int, warm: bool) -> dict:
    assignment = load_assignment(RUBRIC)
    with PeakMemory() as memory:
        started = time.perf_counter()
        reports = grade_class(notebooks, assignment, jobs=jobs, warm=warm, class_folders=False).reports
        seconds = time.perf_counter() - started
    not_graded = [r.submission for r in reports if r.status != "graded"]
    return {"seconds": seconds, "per_notebook": seconds / len(notebooks), "scores": {r.submission: r.score for r in reports},
            "not_graded": not_graded, "peaks": memory.peaks}


def _spin(iterations: int) -> None:
    total = 0
    for i in range(iterations):
        total += i


def parallel_ceiling(iterations: int = 20_000_000) -> float:
    """What 2 processes of pure CPU work get done here, per unit of time, against 1: the most 2 jobs can
    gain over 1 on this machine (2 vCPUs of a shared host need not give 2x)."""
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


def zygote_start_seconds(kind: str) -> float:
    """One zygote's start, plus the on-demand import of torch for torch notebooks: paid once per job slot."""
    started = time.perf_counter()
    zygote = Zygote(0)
    try:
        zygote.start()
        if kind == "torch":
            zygote.request(op="preload", modules=["torch"])
        return time.perf_counter() - started
    finally:
        zygote.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16, help="notebooks of each kind")
    parser.add_argument("--kinds", default="numpy,torch")
    parser.add_argument("--no-cold", action="store_true", help="leave out the cold-kernel run (slow at large n)")
    args = parser.parse_args()
    print(f"sandbox: {'bubblewrap' if bwrap_available() else 'OFF (limits only)'}; n={args.n} per kind; {os.cpu_count()} CPUs")
    configurations = [("ours, cold kernels, 1 job", 1, False)] * (not args.no_cold)
    configurations += [("ours, warm zygote, 1 job", 1, True), ("ours, warm zygote, 2 jobs", 2, True)]
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds.split(","):
            workdir = Path(tmp) / kind
            notebooks = make_nbgrader_notebooks(args.n, kind, workdir)
            baseline = time_nbgrader_autograde(notebooks, workdir, kind=kind)
            rows = [("nbgrader autograde " + baseline["version"], baseline["seconds"], baseline["per_notebook"])]
            results = {}
            for label, jobs, warm in configurations:
                results[label] = ours(notebooks, jobs, warm)
                rows.append((label, results[label]["seconds"], results[label]["per_notebook"]))
            print(f"\n{kind} notebooks (n={args.n})")
            print(f"{'grader':34} {'seconds':>8} {'s/notebook':>11} {'throughput vs nbgrader':>23}")
            for label, seconds, per in rows:
                print(f"{label:34} {seconds:8.2f} {per:11.3f} {baseline['seconds'] / seconds:22.1f}x")
            two, one = results["ours, warm zygote, 2 jobs"], results["ours, warm zygote, 1 job"]
            print(f"2 jobs vs 1 job: {one['seconds'] / two['seconds']:.2f}x "
                  f"(this machine's ceiling, 2 CPU-bound processes against 1, measured now: {parallel_ceiling():.2f}x)")
            print(f"zygote start-up, once per job slot (included above): {zygote_start_seconds(kind):.2f} s")
            nb_scores, our_scores = baseline.get("scores", {}), two["scores"]
            same = sum(1 for s in our_scores if s in nb_scores and (our_scores[s] > 0) == (float(nb_scores[s]) > 0))
            print(f"pass/fail agreement with nbgrader: {same}/{len(our_scores)}; not graded: {two['not_graded']}")
            peaks = two["peaks"]
            print(f"peak RSS per worker (2 jobs): zygote {peaks['zygote'] / 2**20:.0f} MiB, forked kernel {peaks['kernel'] / 2**20:.0f} MiB "
                  f"(mostly pages shared with its zygote)")
    nbgrader_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS: grader process {own:.0f} MiB; largest waited-for child (nbgrader's processes) {nbgrader_peak:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
