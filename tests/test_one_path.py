"""One path for every submission: each caller (grade, grade --dask, ci, check .) stages, names and grades a
student's folder the same way, whatever the folder holds (links anywhere, pipes, sockets, devices, unreadable
files, odd names), and nothing is skipped without a word.

These tests drive the ``grader`` command, as users do.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main

from .conftest import write

ROOT = Path(__file__).resolve().parent.parent
RUBRIC = str(ROOT / "rubrics" / "conv1d.yaml")
RIGHT = ROOT / "submissions" / "conv1d" / "all_right_files"
TOKEN = "SECRET-7f3a9c-never-in-feedback"

# A student module whose backward pass reports what the sandbox let it read through the links of its folder.
PROBE = '''
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def conv1d_forward(x, w, b):
    k = len(w)
    return np.array([np.dot(x[i:i + k], w) for i in range(len(x) - k + 1)]) + b


def conv1d_backward(x, w, b, dy):
    seen = []
    for name in sorted(os.listdir(HERE)):
        try:
            with open(os.path.join(HERE, name), "rb") as handle:
                seen.append(name + "=" + handle.read(200).decode("latin-1"))
        except OSError as exc:
            seen.append(name + "!" + type(exc).__name__)
    raise RuntimeError("I can read: " + " | ".join(seen))
'''


def messy_student(folder: Path, secret: Path) -> Path:
    """A folder with right answers and code, and everything a folder can hold besides."""
    folder.mkdir(parents=True)
    shutil.copy(RIGHT / "answers.yaml", folder / "answers.yaml")
    write(folder / "conv1d.py", PROBE)
    (folder / "notes.txt").symlink_to(secret)                        # a link to a file outside: never followed
    (folder / "more_answers.yaml").symlink_to(secret.parent / "answers.yaml")
    (folder / "environ").symlink_to("/proc/self/environ")
    (folder / "mem").symlink_to("/proc/self/mem")                     # reading it fails: it must not be opened
    (folder / "zero").symlink_to("/dev/zero")                         # reading it never ends
    (folder / "everything").symlink_to("/")
    os.mkfifo(folder / "pipe")                                        # opening it blocks
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "sock"))
    server.close()
    write(folder / "locked.txt", "nothing secret").chmod(0)
    write(folder / "weird\nname.txt", "a newline in a name")
    write(folder / "ünïcödé.txt", "unicode")
    write(folder / "--help.txt", "a leading dash")
    return folder


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("messy")
    secret = write(tmp / "outside" / "secret.txt", TOKEN)
    write(tmp / "outside" / "answers.yaml", f"y_hat: [14, 20]\nleak: {TOKEN}\n")
    return messy_student(tmp / "class" / "mallory", secret)


def checks_of(report: dict) -> list[tuple[str, str, float]]:
    return [(c["id"], c["status"], c["score"]) for q in report["questions"] for c in q["checks"]]


def everything_written(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file() and ".cache" not in p.parts)


def test_every_caller_gives_the_same_report_for_a_messy_folder_and_follows_no_link(messy, tmp_path, monkeypatch):
    runner = CliRunner()
    graded = runner.invoke(main, ["grade", RUBRIC, str(messy.parent), "--out", str(tmp_path / "plain"), "--jobs", "2"])
    assert graded.exit_code == 0, graded.output
    plain = json.loads((tmp_path / "plain" / "mallory" / "report.json").read_text())

    on_dask = runner.invoke(main, ["grade", RUBRIC, str(messy.parent), "--out", str(tmp_path / "dask"), "--dask", "local:2"])
    assert on_dask.exit_code == 0, on_dask.output
    dask = json.loads((tmp_path / "dask" / "mallory" / "report.json").read_text())

    ci = runner.invoke(main, ["ci", RUBRIC, str(messy), "--junit", str(tmp_path / "ci" / "junit.xml"), "--out", str(tmp_path / "ci")],
                       env={"GITHUB_STEP_SUMMARY": "", "GITHUB_OUTPUT": ""})
    assert ci.exit_code == 1, ci.output  # some checks fail; the pipe and the links do not crash it
    from_ci = json.loads((tmp_path / "ci" / "report.json").read_text())

    monkeypatch.chdir(messy)
    checked = runner.invoke(main, ["check", RUBRIC, ".", "--json"])
    assert checked.exit_code == 1, checked.output
    from_check = json.loads(checked.output)

    assert plain["submission"] == dask["submission"] == from_ci["submission"] == from_check["submission"] == "mallory"
    assert checks_of(plain) == checks_of(dask) == checks_of(from_ci)
    public = [(c["id"], c["status"], c["score"]) for q in plain["questions"] for c in q["checks"] if c["visibility"] == "public"]
    assert checks_of(from_check) == public
    assert [(e["where"], e["message"]) for e in plain["events"] if e["kind"] != "error"] == \
        [(e["where"], e["message"]) for e in dask["events"] if e["kind"] != "error"]

    assert plain["score"] == 13  # right answers and forward pass; the backward pass raises on purpose
    backward = next(c for q in plain["questions"] for c in q["checks"] if c["id"] == "conv1d_backward.public")
    assert "I can read:" in backward["message"] and "answers.yaml=" in backward["message"]
    for name in ("notes.txt", "environ", "mem", "zero", "pipe", "sock", "everything", "more_answers.yaml"):
        assert f"{name}=" not in backward["message"] and f"{name}!" not in backward["message"], name  # not in the sandbox
    left_out = {e["where"]: e["message"] for e in plain["events"]}
    assert "symbolic link" in left_out["notes.txt"] and "named pipe" in left_out["pipe"] and "socket" in left_out["sock"]
    assert all("\n" not in e["where"] for e in plain["events"])  # a student's file name never breaks a line
    for folder in ("plain", "dask", "ci"):
        assert TOKEN not in everything_written(tmp_path / folder), folder
    assert TOKEN not in graded.output + on_dask.output + ci.output + checked.output


def test_a_single_module_scores_its_code_as_root_and_not(tmp_path):
    """A one-file module is staged alone and readable by the sandbox's user (as root, an unprivileged uid)."""
    module = shutil.copy(RIGHT / "conv1d.py", tmp_path / "conv1d.py")
    result = CliRunner().invoke(main, ["grade", RUBRIC, str(module), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "conv1d" / "report.json").read_text())
    code = {c[0]: c[1] for c in checks_of(report) if c[0].startswith("conv1d_")}
    assert code and set(code.values()) == {"passed"}, code


def test_check_of_the_folder_it_runs_in_excludes_the_kit(tmp_path, monkeypatch):
    repo = tmp_path / "work"
    shutil.copytree(ROOT / "submissions" / "conv1d" / "complete", repo)  # with the experiment: every public check passes
    assert CliRunner().invoke(main, ["bundle", RUBRIC, "--out", str(repo / "kit")]).exit_code == 0
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(main, ["check", "kit", "."])
    assert result.exit_code == 0, result.output
    assert "work:" in result.output  # the folder's own name, not an empty one


def test_names_in_a_class_are_unique_safe_and_nothing_is_skipped_silently(tmp_path):
    klass = tmp_path / "class"
    answers = (RIGHT / "answers.yaml").read_text()
    write(klass / "alice" / "answers.yaml", answers)
    write(klass / "alice.yaml", "y_hat: [1, 2]\n")
    write(klass / "gradebook.csv.yaml", answers)
    write(klass / "_bob" / "answers.yaml", answers)
    write(klass / "carol.zip", "PK")
    write(klass / "dave.txt", "my answers are in my head")
    write(klass / "eve\nnewline.yaml", answers)
    write(klass / "javascript:alert(1).yaml", answers)
    write(klass / "-rf.yaml", answers)
    (klass / "frank.yaml").symlink_to(klass / "alice.yaml")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["grade", RUBRIC, str(klass), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = {row["submission"]: row for row in csv.DictReader((out / "gradebook.csv").open())}
    assert set(rows) == {"alice", "alice.yaml", "gradebook.csv.yaml", "_bob", "eve_newline", "javascript_alert_1", "rf"}
    assert float(rows["alice"]["total"]) == 10 and float(rows["alice.yaml"]["total"]) == 0
    for name in rows:
        assert json.loads((out / name / "report.json").read_text())["submission"] == name
    said = " ".join(result.output.split())
    assert "unchanged" not in said  # two students with the same files are two students, not one cached report
    for name, why in (("carol.zip", "archive"), ("dave.txt", "not a notebook"), ("frank.yaml", "symbolic link")):
        assert name in said and why in said, (name, said)
    overview = (out / "overview.html").read_text()
    assert "carol.zip" in overview and "dave.txt" in overview and "frank.yaml" in overview
    assert 'href="javascript' not in overview and 'href="./javascript_alert_1/feedback.html"' in overview


def test_dask_refuses_jobs_it_would_ignore_and_uses_the_cache(tmp_path):
    runner = CliRunner()
    refused = runner.invoke(main, ["grade", RUBRIC, str(RIGHT), "--out", str(tmp_path / "r"), "--jobs", "3",
                                   "--dask", "tcp://127.0.0.1:9"])
    assert refused.exit_code == 2 and "--jobs does not apply" in refused.output
    klass = tmp_path / "class"
    shutil.copytree(RIGHT, klass / "ann")
    write(klass / "ben.yaml", "y_hat: [14, 20]\n")
    first = runner.invoke(main, ["grade", RUBRIC, str(klass), "--out", str(tmp_path / "out"), "--dask", "local:1"])
    again = runner.invoke(main, ["grade", RUBRIC, str(klass), "--out", str(tmp_path / "out"), "--dask", "local", "--jobs", "1"])
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    assert "2 unchanged (from the cache)" in " ".join(again.output.split())


def test_a_dask_worker_retries_an_infrastructure_fault_on_a_fresh_zygote(tmp_path, monkeypatch, conv1d):
    """The worker's side of --dask runs the same fault policy as a local job slot."""
    from grader.errors import InfrastructureError
    from grader.executors import dask as on_dask
    from grader.runner import kernel
    from grader.submissions.staging import pack, stage

    real_start, attempts = kernel.KernelSession.start, []

    def flaky(self):
        attempts.append(self.zygote)
        if len(attempts) == 1:
            raise InfrastructureError("the kernel's IPC folder is gone (simulated)")
        return real_start(self)

    monkeypatch.setattr(kernel.KernelSession, "start", flaky)
    monkeypatch.setattr(on_dask, "_pool", None)
    packed = pack(stage(RIGHT, tmp_path / "staged"))
    files = on_dask.reference_files(conv1d.rubric)
    try:
        report = json.loads(on_dask.grade_packed(packed, conv1d.rubric.model_dump_json(warnings=False), "ann", "/class/ann", None, None, files))["report"]
    finally:
        on_dask._pool.close()
    assert report["status"] == "graded" and len(attempts) == 2 and attempts[0] is not attempts[1]


def test_the_late_penalty_reaches_every_report_not_only_the_gradebook(tmp_path):
    policy = write(tmp_path / "policy.yaml", "deadline: 2026-03-01T23:59:00+01:00\npercent_per_hour: 10\nmax_percent: 50\n")
    stamps = write(tmp_path / "stamps.yaml", "all_right_files: 2026-03-02T02:59:00+01:00\n")  # 3 h late: 30 %
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["grade", RUBRIC, str(RIGHT), "--out", str(out), "--late-policy", str(policy),
                                       "--timestamps", str(stamps), "--format", "json", "--format", "md", "--format", "html",
                                       "--format", "gradescope", "--format", "gradebook"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "all_right_files" / "report.json").read_text())
    penalty = round(0.3 * report["max_score"], 2)
    assert report["late"]["penalty"] == pytest.approx(penalty) and report["late"]["final"] == pytest.approx(report["score"] - penalty)
    final = f"{report['score'] - penalty:g}"
    assert f"final score **{final} / " in (out / "all_right_files" / "feedback.md").read_text()
    assert f"final <b>{final} / " in (out / "all_right_files" / "feedback.html").read_text()
    assert json.loads((out / "all_right_files" / "results.json").read_text())["score"] == pytest.approx(report["score"] - penalty)
