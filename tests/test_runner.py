"""The runner: warm zygote kernels are fresh per student; cached reports; results independent of jobs."""

from __future__ import annotations

import grader.api as api
from grader.executors import local
from grader.cache import ReportCache
from grader.rubric import parse_rubric

from .conftest import write

PROBE_RUBRIC = """\
id: probe
title: Probe
given: {}
limits: {cell_timeout: 10, call_timeout: 5}
questions:
  - id: seen
    checks:
      - kind: value
        points: 1
        expected: 0
"""


def test_a_student_never_sees_files_or_processes_of_the_previous_one(tmp_path):
    # student a leaves a file in /tmp and in its home, and a daemon that outlives its kernel
    write(tmp_path / "class" / "a" / "work.ipynb", _notebook(
        "import os, subprocess\n"
        "open('/tmp/left_behind', 'w').write('secret-a')\n"
        "open(os.path.expanduser('~/left_in_home'), 'w').write('secret-a')\n"
        "subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        "seen = 0"))
    # student b counts what it can find of a
    write(tmp_path / "class" / "b" / "work.ipynb", _notebook(
        "import os, subprocess\n"
        "found = [p for p in ('/tmp/left_behind', os.path.expanduser('~/left_in_home'), '/submission/../a') if os.path.exists(p)]\n"
        "sleepers = subprocess.run(['pgrep', '-f', 'sleep 300'], capture_output=True, text=True).stdout.split()\n"
        "seen = len(found) + len(sleepers) + len([n for n in os.listdir('.') if 'left' in n])"))
    rubric = parse_rubric(PROBE_RUBRIC)
    reports = api.grade_class([tmp_path / "class"], rubric, jobs=1).reports
    assert [r.check("seen").status for r in reports] == ["passed", "passed"], [(r.check("seen").message, r.events) for r in reports]


def _notebook(source: str) -> str:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    return nbformat.writes(notebook)


def test_unchanged_submissions_come_from_the_cache_and_changes_regrade(tmp_path, conv1d, monkeypatch):
    submission = write(tmp_path / "s" / "answers.yaml", "y_hat: [14, 20]\n")
    cache = ReportCache(tmp_path / "cache")
    first = api.grade_class([submission.parent], conv1d, cache=cache).reports[0]
    calls = []
    real = local.grade_with_retry
    monkeypatch.setattr(local, "grade_with_retry", lambda *a, **k: calls.append(a) or real(*a, **k))
    again = api.grade_class([submission.parent], conv1d, cache=cache)
    assert calls == [] and again.cached == 1 and again.reports[0].score == first.score == 1
    submission.write_text("y_hat: [14, 20]\nloss: 200\n")
    changed = api.grade_class([submission.parent], conv1d, cache=cache)
    assert len(calls) == 1 and changed.cached == 0 and changed.reports[0].score == 2


def test_results_do_not_depend_on_the_number_of_jobs(root, conv1d):
    folder = root / "submissions" / "conv1d"
    one = api.grade_class([folder], conv1d, jobs=1).reports
    two = api.grade_class([folder], conv1d, jobs=2).reports
    strip = lambda r: [(c.id, c.status, c.score, c.message) for q in r.questions for c in q.checks]  # noqa: E731
    assert [strip(r) for r in one] == [strip(r) for r in two]
    from grader.manifest import load_manifest

    # not vacuous: every example of the class was graded, with its checks
    assert len(one) == len(load_manifest(folder / "manifest.yaml").examples) and all(strip(r) for r in one)


def test_a_kernel_that_will_not_start_is_not_gradable_never_a_zero(tmp_path, conv1d, monkeypatch):
    from grader.runner import kernel

    monkeypatch.setattr(kernel.SandboxedKernelManager, "format_kernel_cmd", lambda self, extra_arguments=None: ["false"])
    report = api.grade(_module_submission(tmp_path), conv1d)
    assert report.status == "not-gradable" and report.questions == []
    assert "kernel did not start" in report.reason


def _module_submission(tmp_path):
    return write(tmp_path / "student" / "conv1d.py", "def conv1d_forward(x, w, b):\n    return x\n").parent


def test_an_infrastructure_fault_is_retried_once_on_a_fresh_zygote(tmp_path, conv1d, monkeypatch):
    from grader.runner import kernel

    real_start, attempts = kernel.KernelSession.start, []

    def flaky(self):
        attempts.append(self.zygote)
        if len(attempts) == 1:
            raise kernel.InfrastructureError("the sandbox could not start (simulated)")
        return real_start(self)

    monkeypatch.setattr(kernel.KernelSession, "start", flaky)
    report = api.grade_class([_module_submission(tmp_path)], conv1d).reports[0]
    assert report.status == "graded" and len(attempts) == 2
    assert attempts[0] is not attempts[1]  # the retry ran on a fresh zygote


def test_without_a_sandbox_tool_grading_works_and_warns_once(root, tmp_path):
    import os
    import subprocess
    import sys

    from grader.manifest import load_manifest

    names = ["all_right.ipynb", "all_right_files", "function_raises", "syntax_error_cell.ipynb"]
    expected = {e.path: e.score for e in load_manifest(root / "submissions/conv1d/manifest.yaml").examples}
    paths = [str(root / "submissions/conv1d" / n) for n in names]
    code = ("import warnings, pathlib; warnings.simplefilter('default');"
            "from grader.api import grade_class;"
            f"r = grade_class([pathlib.Path(p) for p in {paths!r}], {str(root / 'rubrics/conv1d.yaml')!r}, jobs=2).reports;"
            "print('SCORES', [x.score for x in r])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "GRADER_SANDBOX": "off"}, cwd=tmp_path)
    assert f"SCORES {[float(expected[n]) for n in names]}" in proc.stdout, proc.stdout + proc.stderr
    assert proc.stderr.count("SANDBOX OFF") == 1


def test_heavy_libraries_are_loaded_into_the_zygote_on_demand_never_from_the_student(tmp_path):
    from grader.runner.pool import ZygotePool
    from grader.runner.zygote import libraries_used

    numpy_only = write(tmp_path / "n" / "work.ipynb", _notebook("import numpy as np\nseen = 0"))
    # a torch user who also ships a module named torch.py: the zygote must import the real one
    torch_user = write(tmp_path / "t" / "work.ipynb", _notebook(
        "import torch\nseen = int('site-packages' not in torch.__file__)"))
    write(tmp_path / "t" / "torch.py", "raise SystemExit('the student module was imported')\n")
    assert libraries_used(numpy_only.parent) == []
    assert libraries_used(torch_user.parent) == ["torch"]
    pool = ZygotePool()
    zygote = pool.get(0)
    try:
        assert "torch" not in zygote.loaded  # a numpy-only class never pays for it
        report = api.grade(torch_user.parent, parse_rubric(PROBE_RUBRIC), pool=pool)
        assert "torch" in zygote.loaded and pool.get(0) is zygote
        assert report.check("seen").status == "passed", (report.check("seen").message, report.events)
        assert api.grade(numpy_only.parent, parse_rubric(PROBE_RUBRIC), pool=pool).check("seen").status == "passed"
    finally:
        pool.close()


def test_two_batches_on_one_machine_never_share_a_sandbox_uid(tmp_path):
    """Slots number from 0 in every batch; as root each sandbox still gets a uid no other one holds,
    so that clearing one slot's processes never kills another batch's kernel."""
    import os

    import pytest

    from grader.runner.sandbox import Sandbox, bwrap_available

    if os.getuid() != 0 or not bwrap_available():
        pytest.skip("uids are per sandbox only when the grader runs as root with bubblewrap")
    first, second = (Sandbox(scratch=tmp_path / n, submission=tmp_path, ipc_dir=tmp_path / f"ipc{n}", slot=0) for n in "ab")
    assert first.uid is not None and second.uid is not None and first.uid != second.uid
    uid = first.uid
    first.close()
    third = Sandbox(scratch=tmp_path / "c", submission=tmp_path, ipc_dir=tmp_path / "ipcc", slot=0)
    assert third.uid == uid  # given back, taken again
    second.close()
    third.close()


def test_ci_grades_with_the_sandbox_on(tmp_path, root):
    """`.ci/run` installs bubblewrap (scripts/setup.sh): there, grading without it would hide a gap.
    Everywhere, what the student's kernel sees must agree with what the grader believes: with
    bubblewrap its submission at /submission and none of the grader's files, without it neither."""
    import os

    from grader.runner.sandbox import bwrap_available

    ci = (root / ".ci" / "run").read_text()
    assert "scripts/setup.sh" in ci and "apt-get install -y -qq bubblewrap" in (root / "scripts/setup.sh").read_text()
    sandbox = bwrap_available()
    if os.environ.get("CI"):
        assert sandbox, "bubblewrap is missing or cannot create namespaces in CI"
    secret = root / "rubrics" / "conv1d.yaml"  # the grader's own files are never mounted into the sandbox
    write(tmp_path / "s" / "work.ipynb", _notebook(
        "import os\n"
        f"inside = os.path.isfile('/submission/work.ipynb') and not os.path.exists({str(secret)!r})\n"
        f"seen = 0 if inside else 1"))
    check = api.grade(tmp_path / "s", parse_rubric(PROBE_RUBRIC)).check("seen")
    assert check.status in ("passed", "failed"), check.message  # the probe ran
    assert (check.status == "passed") == sandbox, (sandbox, check.message)


def test_a_large_request_travels_as_a_file_and_leaves_nothing_behind(tmp_path, monkeypatch):
    """A request over INLINE_REQUEST_BYTES (the grader's data for a call) is written into the kernel's IPC
    folder, never through a link found there, and the cell that asks for it stays small; answers are the same."""
    import numpy as np

    from grader.runner.kernel import INLINE_REQUEST_BYTES, KernelSession

    write(tmp_path / "s" / "code.py", "def total(x, scale=1.0):\n    return float(x.sum() * scale)\n")
    sources: list[str] = []
    run_cell = KernelSession._run_cell
    monkeypatch.setattr(KernelSession, "_run_cell", lambda self, cell, where, timeout=None: sources.append(cell.source) or run_cell(self, cell, where, timeout))
    data = np.random.default_rng(0).normal(size=20_000)
    with KernelSession(tmp_path / "s", call_timeout=20) as session:
        session.load_modules([tmp_path / "s" / "code.py"])
        trap = session.sandbox.ipc_dir / "trap"
        trap.symlink_to(tmp_path / "outside")  # what a student's code could leave in the folder
        small = session.call("total", [data[:10]], {"scale": 2.0})
        large = session.call("total", [data], {"scale": 2.0})
        left = sorted(p.name for p in session.sandbox.ipc_dir.iterdir() if p.name.startswith("request-"))
    assert small.ok and small.value == float(data[:10].sum() * 2)
    assert large.ok and abs(large.value - float(data.sum() * 2)) < 1e-9, large
    assert len(sources[-1]) < 300 and "serve_file" in sources[-1], sources[-1][:300]  # 160 KB of data, not in the cell
    assert "serve(" in sources[-2] and len(sources[-2]) < INLINE_REQUEST_BYTES  # a small request stays inline
    assert left == [] and not (tmp_path / "outside").exists()
