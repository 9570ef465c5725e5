"""Mutation testing of the scoring core: run mutmut, then print the mutation score per module and every
surviving mutant, each with the reason benchmarks/mutation_survivors.md gives (or UNEXPLAINED).

    pip install -e '.[dev,mutation]'
    .venv/bin/python benchmarks/mutation.py            # a fresh run (removes mutants/ first)
    .venv/bin/python benchmarks/mutation.py --report   # only the table, from the last run's results
    .venv/bin/python benchmarks/mutation.py --diffs    # also each survivor's diff

What is mutated and which tests run is configured in pyproject.toml ([tool.mutmut]). The score of a
module is (killed + timeout) / total: a timeout is a mutant the tests caught by hanging (counted in its
own column), a suspicious one (the test run crashed oddly) counts as not killed, and so do mutants no
test reached. Exit status 1 if a module scores under --min (85 by default) or a survivor has no
reason in the survivors file.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SURVIVORS = ROOT / "benchmarks" / "mutation_survivors.md"
KILLED = {"killed", "timeout"}
COLUMNS = ("killed", "timeout", "survived", "suspicious", "no tests", "other")


def mutmut() -> list[str]:
    """The command that runs this environment's mutmut."""
    found = shutil.which("mutmut", path=str(Path(sys.executable).parent)) or shutil.which("mutmut")
    if found is None:
        sys.exit("mutmut is not installed: pip install -e '.[dev,mutation]'")
    return [found]


def results() -> dict[str, str]:
    """mutant name -> status, from mutmut's stored results."""
    out = subprocess.run(mutmut() + ["results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            found[name] = status.strip()
    return found


def module_of(mutant: str) -> str:
    """grader.checks.compare.x__allclose__mutmut_3 -> grader/checks/compare.py"""
    dotted = mutant.split(".x_")[0].split(".xǁ")[0]
    return dotted.replace(".", "/") + ".py"


def explained() -> dict[str, str]:
    """The reasons in the survivors file: table rows ``| `mutant` | reason |``."""
    if not SURVIVORS.exists():
        return {}
    reasons = {}
    for line in SURVIVORS.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*`([^`]+)`\s*\|\s*(.+?)\s*\|\s*$", line)
        if match:
            reasons[match.group(1)] = match.group(2)
    return reasons


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="do not run mutmut; report the last run's results")
    parser.add_argument("--keep", action="store_true", help="keep mutants/ and the results of earlier runs (mutmut resumes)")
    parser.add_argument("--diffs", action="store_true", help="print each survivor's diff")
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once (mutmut --max-children)")
    parser.add_argument("--min", type=float, default=85.0, help="the lowest acceptable score of a module, in percent")
    args = parser.parse_args(argv)

    if not args.report:
        if not args.keep:
            shutil.rmtree(ROOT / "mutants", ignore_errors=True)
        # mutmut forks each mutant's test run from a process that has already run the tests; torch's OpenMP
        # thread pool does not survive a fork, so a forked test that reaches a parallel kernel (quantizing a
        # tensor, say) waits for threads that are gone until mutmut's timeout, and counts as caught. One
        # OpenMP thread makes every fork safe (the selected tests need no parallelism).
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        run = subprocess.run(mutmut() + ["run", "--max-children", str(args.jobs)], cwd=ROOT, capture_output=True, text=True,
                             env=env)
        if run.returncode != 0:
            print(run.stdout[-4000:], run.stderr[-4000:], sep="\n")
            print(f"mutmut run failed (exit {run.returncode})")
            return 1
    statuses = results()
    if not statuses:
        print("no mutmut results: run without --report first")
        return 1

    by_module: dict[str, Counter] = defaultdict(Counter)
    for name, status in statuses.items():
        by_module[module_of(name)][status if status in COLUMNS else "other"] += 1
    width = max(len(m) for m in by_module) + 2
    print(f"{'module':<{width}}{'score':>8}{'total':>7}" + "".join(f"{c:>11}" for c in COLUMNS))
    low = []
    for module in sorted(by_module):
        counts = by_module[module]
        total = sum(counts.values())
        score = 100.0 * sum(counts[s] for s in KILLED) / total
        if score < args.min:
            low.append(module)
        print(f"{module:<{width}}{score:>7.1f}%{total:>7}" + "".join(f"{counts[c]:>11}" for c in COLUMNS))
    overall = Counter()
    for counts in by_module.values():
        overall.update(counts)
    total = sum(overall.values())
    print(f"{'all':<{width}}{100.0 * sum(overall[s] for s in KILLED) / total:>7.1f}%{total:>7}"
          + "".join(f"{overall[c]:>11}" for c in COLUMNS))

    reasons = explained()
    survivors = sorted(name for name, status in statuses.items() if status not in KILLED)
    unexplained = [name for name in survivors if name not in reasons]
    print(f"\n{len(survivors)} mutants not killed ({len(unexplained)} without a reason in {SURVIVORS.relative_to(ROOT)}):")
    for name in survivors:
        print(f"  {name} [{statuses[name]}]: {reasons.get(name, 'UNEXPLAINED')}")
        if args.diffs:
            diff = subprocess.run(mutmut() + ["show", name], cwd=ROOT, capture_output=True, text=True).stdout
            print("    " + "\n    ".join(line for line in diff.splitlines() if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))))
    stale = sorted(set(reasons) - set(survivors))
    if stale:
        print(f"\n{len(stale)} reasons in {SURVIVORS.relative_to(ROOT)} for mutants that are now killed or gone: {', '.join(stale)}")
    if low:
        print(f"\nbelow {args.min:g}%: {', '.join(low)}")
    return 1 if low or unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
