"""nbgrader baseline for the grading-speed benchmark.

Builds a tiny nbgrader course (one assignment, one notebook: a 1-D valid
cross-correlation ``conv1d_forward(x, w, b)`` exercise worth 1 point), places N
student submissions in it and times ``nbgrader autograde <assignment> --force``
as one subprocess: the same work our grader does (execute every notebook in a
fresh kernel, score the test cell), done the nbgrader way.

nbgrader is an optional dev dependency (``pip install nbgrader``; tested with
nbgrader 0.9.6 installed into the project's .venv next to torch 2.13.0+cpu).
It is never imported here: everything goes through its CLI, so it may live in
another virtualenv (pass ``nbgrader_cmd``).  Note that the kernels nbgrader
starts run ``python3`` from *nbgrader's* environment, so that environment needs
numpy (and torch for the torch notebooks) too.

Usage::

    .venv/bin/python -m benchmarks.nbgrader_baseline            # n=8 numpy + n=8 torch
    .venv/bin/python -m benchmarks.nbgrader_baseline --n 16 --keep /tmp/nbg

or from the benchmark::

    from benchmarks.nbgrader_baseline import make_nbgrader_notebooks, time_nbgrader_autograde
    nbs = make_nbgrader_notebooks(8, "torch", workdir)
    res = time_nbgrader_autograde(nbs, workdir)  # {"seconds", "n", "per_notebook", "version", ...}
"""

from __future__ import annotations

import argparse
import copy
import csv
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal, Sequence

import nbformat

NOTEBOOK = "conv1d"  # the assignment's only notebook: submitted/<student>/<assignment>/conv1d.ipynb
FUNC = "conv1d_forward"
COURSE = "nbgrader_course"  # course root, under workdir
STUDENTS = "nbgrader_students"  # where make_nbgrader_notebooks writes, under workdir

Kind = Literal["numpy", "torch"]

# ---------------------------------------------------------------- the exercise

_SOLUTION = f'''def {FUNC}(x, w, b):
    """Valid, stride-1 1-D cross-correlation: y_i = sum_j w_j x_(i+j) + b."""
    ### BEGIN SOLUTION
    k = len(w)
    return np.array([x[i:i + k] @ w for i in range(len(x) - k + 1)]) + b
    ### END SOLUTION
'''

_TEST = f"""x = np.array([1., 2., 3., 4., 5.]); w = np.array([2., 1., 3.]); b = 1.0
np.testing.assert_allclose({FUNC}(x, w, b), [14., 20., 26.])
"""

# What students write in the solution cell (replacing the whole cell, as a student would).
ANSWERS = {
    # right: full points
    "right": f'''def {FUNC}(x, w, b):
    k = len(w)
    return np.array([np.dot(x[i:i + k], w) for i in range(len(x) - k + 1)]) + b
''',
    # wrong: forgets the bias -> AssertionError in the test cell -> 0
    "wrong": f'''def {FUNC}(x, w, b):
    k = len(w)
    return np.array([np.dot(x[i:i + k], w) for i in range(len(x) - k + 1)])
''',
    # raising: shapes (5,) . (3,) not aligned -> ValueError in the test cell -> 0
    "raising": f'''def {FUNC}(x, w, b):
    return np.dot(x, w) + b
''',
}
EXPECTED_POINTS = {"right": 1.0, "wrong": 0.0, "raising": 0.0}


def _variant(i: int) -> str:
    """Half right, a quarter wrong, a quarter raising (interleaved)."""
    return ("right", "wrong", "right", "raising")[i % 4]


def _nbg(grade_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def source_notebook(kind: Kind) -> nbformat.NotebookNode:
    """The instructor's source notebook with nbgrader cell metadata."""
    imports = "import numpy as np\n" + ("import torch\n" if kind == "torch" else "")
    v4 = nbformat.v4
    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell("# Convolution by hand (1-D)\n\nImplement `conv1d_forward`."),
        v4.new_code_cell(imports, metadata=_nbg("setup", locked=True)),
        v4.new_code_cell(_SOLUTION, metadata=_nbg(FUNC, solution=True)),
        v4.new_code_cell(_TEST, metadata=_nbg(f"test_{FUNC}", grade=True, locked=True, points=1)),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


# ---------------------------------------------------------------- nbgrader CLI

def _default_nbgrader_cmd() -> list[str]:
    here = Path(sys.executable).with_name("nbgrader")
    if here.exists():
        return [str(here)]
    found = shutil.which("nbgrader")
    if found:
        return [found]
    return [sys.executable, "-m", "nbgrader"]


def _as_cmd(nbgrader_cmd: str | os.PathLike | Sequence[str] | None) -> list[str]:
    """None -> nbgrader next to this interpreter; a path to `nbgrader` or to a python
    (-> `python -m nbgrader`); or an explicit argv list."""
    if nbgrader_cmd is None:
        return _default_nbgrader_cmd()
    if isinstance(nbgrader_cmd, (str, os.PathLike)):
        p = str(nbgrader_cmd)
        if re.search(r"python[\d.]*$", Path(p).name):
            return [p, "-m", "nbgrader"]
        return shlex.split(p) if " " in p and not Path(p).exists() else [p]
    return [str(a) for a in nbgrader_cmd]


def _env(cmd: list[str]) -> dict[str, str]:
    """nbgrader shells out to `alembic` (found on PATH) every time it opens the gradebook,
    so the bin dir of nbgrader's environment must be on PATH even when we call it by path."""
    env = dict(os.environ)
    bindir = str(Path(cmd[0]).absolute().parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONPATH", None)
    return env


def _run(cmd: list[str], args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True, env=_env(cmd))
    if proc.returncode != 0:
        raise RuntimeError(f"`{shlex.join([*cmd, *args])}` failed ({proc.returncode}) in {cwd}:\n"
                           f"{proc.stdout}\n{proc.stderr}")
    return proc


def nbgrader_version(nbgrader_cmd=None) -> str:
    out = _run(_as_cmd(nbgrader_cmd), ["--version"], Path.cwd()).stdout
    m = re.search(r"nbgrader version (\S+)", out)
    return m.group(1) if m else out.strip()


def setup_course(workdir: Path, kind: Kind, assignment: str = "ps1", nbgrader_cmd=None) -> Path:
    """Fresh course dir at workdir/nbgrader_course: config, source notebook, `generate_assignment`.

    Returns the released (student) notebook."""
    root = Path(workdir).resolve() / COURSE
    if root.exists():
        shutil.rmtree(root)
    (root / "source" / assignment).mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        "c.CourseDirectory.course_id = 'bench'\n"
        # a cold `import torch` on a loaded 2-core box can take a while
        "c.Execute.timeout = 120\n"
        "c.Execute.startup_timeout = 120\n")
    nbformat.write(source_notebook(kind), root / "source" / assignment / f"{NOTEBOOK}.ipynb")
    (root / ".bench_kind").write_text(kind)
    # nbgrader >= 0.6: `generate_assignment` (`assign` is a deprecated alias); it also
    # creates the assignment in gradebook.db and stores the source cells there.
    _run(_as_cmd(nbgrader_cmd), ["generate_assignment", assignment, "--force"], root)
    release = root / "release" / assignment / f"{NOTEBOOK}.ipynb"
    if not release.exists():
        raise RuntimeError(f"generate_assignment did not produce {release}")
    return release


# ---------------------------------------------------------------- notebooks

def _solution_index(nb) -> int:
    for i, c in enumerate(nb.cells):
        if c.get("metadata", {}).get("nbgrader", {}).get("solution"):
            return i
    raise ValueError("release notebook has no solution cell")


def student_notebook(release_nb, answer: str) -> nbformat.NotebookNode:
    """The released notebook with the student's answer in its solution cell."""
    nb = copy.deepcopy(release_nb)
    nb.cells[_solution_index(nb)].source = answer
    return nb


def _is_nbgrader(nb) -> bool:
    return any("nbgrader" in c.get("metadata", {}) for c in nb.cells)


def _answer_cell(nb) -> str:
    """The answer in a plain notebook: the code cell tagged `answer`, else the one defining FUNC."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    for c in code:
        if "answer" in c.get("metadata", {}).get("tags", []):
            return c.source
    for c in code:
        if re.search(rf"^\s*def\s+{FUNC}\s*\(", c.source, re.M):
            return c.source
    raise ValueError(f"no answer cell (tag 'answer' or `def {FUNC}`) in notebook")


def _detect_kind(nbs) -> Kind:
    for nb in nbs:
        for c in nb.cells:
            if c.cell_type == "code" and re.search(r"^\s*(import|from)\s+torch\b", c.source, re.M):
                return "torch"
    return "numpy"


def make_nbgrader_notebooks(n: int, kind: Kind, workdir: Path, assignment: str = "ps1",
                            nbgrader_cmd=None) -> list[Path]:
    """N student notebooks in nbgrader's format (released version + filled-in answer).

    Written to workdir/nbgrader_students/<kind>/s000_right.ipynb, ...; the stem is the
    student id and the variant (right/wrong/raising) is also in the notebook metadata."""
    if kind not in ("numpy", "torch"):
        raise ValueError(kind)
    workdir = Path(workdir).resolve()
    release_nb = nbformat.read(setup_course(workdir, kind, assignment, nbgrader_cmd), as_version=4)
    out = workdir / STUDENTS / kind
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    paths = []
    for i in range(n):
        variant = _variant(i)
        nb = student_notebook(release_nb, ANSWERS[variant])
        nb.metadata["bench"] = {"variant": variant, "kind": kind}
        p = out / f"s{i:03d}_{variant}.ipynb"
        nbformat.write(nb, p)
        paths.append(p)
    return paths


# ---------------------------------------------------------------- timing

def _student_ids(notebooks: Sequence[Path]) -> list[str]:
    ids, seen = [], set()
    for i, p in enumerate(notebooks):
        sid = re.sub(r"[^A-Za-z0-9_]+", "_", Path(p).stem).strip("_") or f"s{i:03d}"
        if sid in seen:
            sid = f"{sid}_{i}"
        seen.add(sid)
        ids.append(sid)
    return ids


def _busy_cpu_seconds() -> float | None:
    """Machine-wide busy CPU seconds so far (Linux /proc/stat), to tell how busy the box was."""
    try:
        with open("/proc/stat") as f:
            user, nice, system, _idle, _iowait, irq, softirq, steal, *_ = map(int, f.readline().split()[1:])
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None


def export_scores(workdir: Path, assignment: str = "ps1", nbgrader_cmd=None) -> dict[str, dict]:
    """`nbgrader export` -> {student_id: {"score": float, "max_score": float}}."""
    root = Path(workdir).resolve() / COURSE
    csv_path = root / "grades.csv"
    _run(_as_cmd(nbgrader_cmd), ["export", "--to", str(csv_path), "--assignment", assignment], root)
    with open(csv_path, newline="") as f:
        return {r["student_id"]: {"score": float(r["score"]), "max_score": float(r["max_score"])}
                for r in csv.DictReader(f)}


def time_nbgrader_autograde(notebooks: list[Path], workdir: Path, assignment: str = "ps1",
                            nbgrader_cmd=None, kind: Kind | None = None) -> dict:
    """Time `nbgrader autograde <assignment> --force` over the given student notebooks.

    `notebooks` are either nbgrader-format student notebooks (make_nbgrader_notebooks) or
    plain notebooks with one answer cell (tagged `answer` or defining `conv1d_forward`),
    whose answer is put into the released notebook's solution cell.  Student id = file
    stem.  A fresh course is built in workdir/nbgrader_course (kind: torch if any notebook
    imports torch, unless given); only the autograde subprocess is timed.

    Returns {"seconds", "n", "per_notebook", "version"} plus "cpu_seconds" (user+sys of
    nbgrader and its kernels), "other_cpu_seconds" (the rest of the machine meanwhile), "scores"
    ({student: points}, from `nbgrader export`), "max_score", "command", "course_dir".
    """
    workdir = Path(workdir).resolve()
    cmd = _as_cmd(nbgrader_cmd)
    nbs = [nbformat.read(p, as_version=4) for p in notebooks]
    kind = kind or _detect_kind(nbs)
    release_nb = nbformat.read(setup_course(workdir, kind, assignment, cmd), as_version=4)
    root = workdir / COURSE

    for sid, nb in zip(_student_ids(notebooks), nbs):
        if not _is_nbgrader(nb):
            nb = student_notebook(release_nb, _answer_cell(nb))
        dest = root / "submitted" / sid / assignment / f"{NOTEBOOK}.ipynb"
        dest.parent.mkdir(parents=True)
        nbformat.write(nb, dest)

    # Students are created in the gradebook by autograde itself
    # (Autograde.create_student=True is the default since 0.6; `--create` is a no-op alias).
    args = ["autograde", assignment, "--force"]
    ru0, busy0 = resource.getrusage(resource.RUSAGE_CHILDREN), _busy_cpu_seconds()
    t0 = time.perf_counter()
    _run(cmd, args, root)
    seconds = time.perf_counter() - t0
    ru1, busy1 = resource.getrusage(resource.RUSAGE_CHILDREN), _busy_cpu_seconds()
    # CPU of nbgrader + the kernels it started and reaped: less sensitive to a busy box than wall time
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    # CPU burnt by everything else on the machine meanwhile (0 on a quiet box)
    other = max(0.0, busy1 - busy0 - cpu) if busy0 is not None and busy1 is not None else None

    scores = export_scores(workdir, assignment, cmd)
    n = len(notebooks)
    return {
        "seconds": seconds,
        "n": n,
        "per_notebook": seconds / n if n else float("nan"),
        "version": nbgrader_version(cmd),
        "cpu_seconds": cpu,
        "other_cpu_seconds": other,
        "scores": {s: v["score"] for s, v in scores.items()},
        "max_score": max((v["max_score"] for v in scores.values()), default=0.0),
        "command": shlex.join([*cmd, *args]) + f"  (cwd={root})",
        "course_dir": str(root),
    }


# ---------------------------------------------------------------- CLI

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--kinds", nargs="+", default=["numpy", "torch"], choices=["numpy", "torch"])
    ap.add_argument("--nbgrader", default=None, help="nbgrader executable, or a python with nbgrader")
    ap.add_argument("--keep", type=Path, default=None, help="work here and keep it (default: temp dir)")
    a = ap.parse_args(argv)

    base = a.keep or Path(tempfile.mkdtemp(prefix="nbgrader-bench-"))
    ok = True
    try:
        for kind in a.kinds:
            wd = base / kind
            nbs = make_nbgrader_notebooks(a.n, kind, wd, nbgrader_cmd=a.nbgrader)
            r = time_nbgrader_autograde(nbs, wd, nbgrader_cmd=a.nbgrader)
            print(f"nbgrader {r['version']} autograde, {kind:5s}: n={r['n']}  "
                  f"{r['seconds']:.2f} s total, {r['per_notebook']:.2f} s/notebook "
                  f"(cpu {r['cpu_seconds']:.2f} s; other processes used {r['other_cpu_seconds'] or 0:.2f} cpu-s meanwhile)")
            print(f"  command: {r['command']}")
            for sid, pts in sorted(r["scores"].items()):
                want = EXPECTED_POINTS[sid.rsplit("_", 1)[-1]]
                ok &= pts == want
                print(f"  {sid:14s} {pts:g}/{r['max_score']:g}" + ("" if pts == want else f"  (expected {want:g})"))
    finally:
        if a.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    print("scores as expected" if ok else "UNEXPECTED SCORES")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
