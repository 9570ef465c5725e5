"""Grading throughput: our grader (warm zygote, sandbox on) against nbgrader's autograde, same run.

Builds N student notebooks of each kind (numpy-only, and importing torch), grades them with
nbgrader (``nbgrader autograde``, the baseline, measured in this same run) and with our grader
(cold kernels and warm zygote kernels, 1 and 2 jobs), and prints seconds, per-notebook seconds,
ratios against the baseline, and the peak memory of the largest worker process.

    .venv/bin/python -m benchmarks.grading_speed --n 16

Needs nbgrader (``pip install nbgrader``, an optional dev dependency). Timings on shared machines are
noisy: compare only the ratios of one run.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.nbgrader_baseline import make_nbgrader_notebooks, time_nbgrader_autograde
from grader import Assignment, grade_many
from grader.runner.sandbox import bwrap_available

RUBRIC = Path(__file__).with_name("bench_conv1d.yaml")


def ours(notebooks: list[Path], jobs: int, warm: bool) -> dict:
    assignment = Assignment.load(RUBRIC)
    started = time.perf_counter()
    reports = grade_many(notebooks, assignment, jobs=jobs, warm=warm)
    seconds = time.perf_counter() - started
    not_graded = [r.submission for r in reports if r.status != "graded"]
    return {"seconds": seconds, "per_notebook": seconds / len(notebooks), "scores": {r.submission: r.score for r in reports},
            "not_graded": not_graded}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16, help="notebooks of each kind")
    parser.add_argument("--kinds", default="numpy,torch")
    args = parser.parse_args()
    print(f"sandbox: {'bubblewrap' if bwrap_available() else 'OFF (limits only)'}; n={args.n} per kind")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds.split(","):
            workdir = Path(tmp) / kind
            notebooks = make_nbgrader_notebooks(args.n, kind, workdir)
            baseline = time_nbgrader_autograde(notebooks, workdir, kind=kind)
            rows = [("nbgrader autograde " + baseline["version"], baseline["seconds"], baseline["per_notebook"])]
            results = {}
            for label, jobs, warm in (("ours, cold kernels, 1 job", 1, False), ("ours, warm zygote, 1 job", 1, True),
                                      ("ours, warm zygote, 2 jobs", 2, True)):
                results[label] = ours(notebooks, jobs, warm)
                rows.append((label, results[label]["seconds"], results[label]["per_notebook"]))
            print(f"\n{kind} notebooks (n={args.n})")
            print(f"{'grader':34} {'seconds':>8} {'s/notebook':>11} {'throughput vs nbgrader':>23}")
            for label, seconds, per in rows:
                print(f"{label:34} {seconds:8.2f} {per:11.3f} {baseline['seconds'] / seconds:22.1f}x")
            two, one = results["ours, warm zygote, 2 jobs"], results["ours, warm zygote, 1 job"]
            print(f"2 jobs vs 1 job: {one['seconds'] / two['seconds']:.2f}x")
            nb_scores, our_scores = baseline.get("scores", {}), two["scores"]
            same = sum(1 for s in our_scores if s in nb_scores and (our_scores[s] > 0) == (float(nb_scores[s]) > 0))
            print(f"pass/fail agreement with nbgrader: {same}/{len(our_scores)}; not graded: {two['not_graded']}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS: largest worker process {peak:.0f} MiB (zygote/kernel/nbgrader), grader process {own:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
