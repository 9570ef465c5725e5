"""Hostile submissions: code that loops, forks, eats memory, floods output, exits, crashes, snoops, lies.

Every example in submissions/hostile/ must get the score its manifest gives (the score for what the
submission really did), with a clear message, without hanging or crashing the grader. Secrets that
the test plants outside a submission (a file, another student's work, the rubric, the reference) must
never be readable from inside, and no network connection may succeed. Gradings run against a copy of
the conv1d rubric with small time limits (tests/hostile_helpers.py), each with a deadline, so that a
grader that hangs fails the test instead of blocking the run.
"""

from __future__ import annotations

import csv
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from grader.api import grade_class
from grader.submissions.classes import find_submissions
from grader.manifest import load_manifest
from grader.report import Report
from grader.runner import cgroups
from grader.runner.sandbox import bwrap_available

from .hostile_helpers import (ANSWERS_YAML, FUNCTIONS, HOSTILE, ROOT, checks_of, describe, fast_assignment, grade_within,
                              notebook, question_scores, write)

MANIFEST = load_manifest(HOSTILE / "manifest.yaml")
EXAMPLES = {example.path.rstrip("/"): example for example in MANIFEST.examples}
TIME_WORDS = re.compile(r"time|within|timed? ?out", re.I)


# --- the manifest itself ----------------------------------------------------------------------------------


def test_manifest_lists_every_hostile_example_with_a_reasoned_score() -> None:
    assert MANIFEST.rubric == "conv1d"
    on_disk = {e.path.name for e in find_submissions([HOSTILE], class_folders=True).entries}
    assert on_disk == set(EXAMPLES), f"not in the manifest: {on_disk - set(EXAMPLES)}; missing: {set(EXAMPLES) - on_disk}"
    assignment = fast_assignment()
    question_points = {q.id: q.max_points for q in assignment.rubric.questions}
    for name, example in EXAMPLES.items():
        assert example.score is not None and 0 <= example.score <= assignment.rubric.max_points, name
        assert len(example.description) > 60, f"{name}: say why this is the right score"
        for qid, points in example.questions.items():
            assert qid in question_points and 0 <= points <= question_points[qid], f"{name}: {qid}: {points}"
        assert sum(example.questions.values()) <= example.score + 1e-9, f"{name}: questions add up to more than the score"
        if len(example.questions) == len(question_points):
            assert abs(sum(example.questions.values()) - example.score) < 1e-9, f"{name}: questions do not add up to the score"


# --- every example: its score, and what the report says ----------------------------------------------------


def _events(report, kinds=None, where=None, pattern=None) -> list:
    found = []
    for event in report.events:
        if kinds and event.kind not in kinds:
            continue
        if where and not re.search(where, event.where, re.I):
            continue
        if pattern and not re.search(pattern, event.message, re.I):
            continue
        found.append(event)
    return found


def _message(report, question_id: str, index: int = 0) -> str:
    return checks_of(report, question_id)[index].message


def _timed_out_at(where: str):
    def check(report):
        hits = [e for e in report.events if re.search(where, e.where, re.I) and (e.kind == "timeout" or TIME_WORDS.search(e.message))]
        assert hits, f"no event says that {where} ran out of time"
        assert not any("KeyboardInterrupt" in e.message for e in hits), "a time limit reported as a bare KeyboardInterrupt"
    return check


def _function_timed_out(report, hidden_too: bool = True):
    public, hidden = checks_of(report, "conv1d_backward")
    for check in (public, hidden) if hidden_too else (public,):
        assert TIME_WORDS.search(check.message), f"{check.id}: the message does not say the time limit stopped it: {check.message!r}"
    for check in (public, hidden):
        assert check.message and "KeyboardInterrupt" not in check.message, f"{check.id}: {check.message!r}"


def _kernel_died_in_backward(report):
    assert _events(report, kinds={"crash"}, where="conv1d_backward"), "no crash event while calling conv1d_backward"
    assert re.search(r"died|crash|killed|signal", _message(report, "conv1d_backward"), re.I)


def _answer_refused(question_id: str, pattern: str):
    def check(report):
        message = _message(report, question_id)
        assert re.search(pattern, message, re.I), f"{question_id}: {message!r} does not match {pattern!r}"
    return check


def _hidden_say_nothing_of_the_student(report, question_id: str, expected: str, student: str) -> None:
    hidden = [c for c in checks_of(report, question_id) if c.visibility == "hidden"]
    for check in hidden:
        assert check.message.endswith(expected) and not re.search(student, check.message), f"{check.id}: {check.message!r}"


def _shown_as_text_everywhere(report) -> None:
    """The forged text reaches every reporter as text: no line of the CI log it can start, no markup."""
    import xml.etree.ElementTree as ET

    from grader.reporters.github import annotations, readable_log, summary_markdown
    from grader.reporters.junit import render_junit
    from grader.reporters.markdown import render_markdown

    log = readable_log(report)
    body = log[1:-1]
    assert log[0].startswith("::stop-commands::") and log[-1] == f"::{log[0].split('::')[2]}::"
    assert all(not line.lstrip().startswith(("::", "##[", "Points")) for line in body), "\n".join(body)
    assert "\x1b" not in "".join(log) and all("\n" not in line for line in log)
    commands = [line for line in annotations(report) if "Everything" in line or "23/23" in line]
    assert all("%0A" in line and "\n" not in line for line in commands), commands
    for markdown in (render_markdown(report), summary_markdown(report)):
        assert not re.search(r"(?<!\\)<img", markdown), "raw HTML in Markdown"  # (escaped as \<img: shown, not rendered)
        assert not any(line.startswith(("**Score: 23", "::", "Points")) for line in markdown.splitlines())
    ET.fromstring(render_junit(report).split("\n", 1)[1])


def _all(*checks):
    def check(report):
        for one in checks:
            one(report)
    return check


EXTRA_CHECKS = {
    "loop_in_cell.ipynb": _timed_out_at(r"cell 3"),
    "loop_ignoring_interrupt": _all(
        _timed_out_at(r"cell 1"),
        lambda r: _events(r, where=r"cell 2", pattern=r"not run|died|killed|kernel") or pytest.fail("cell 2: no event says it was not run")),
    "loop_at_import": _timed_out_at(r"import|conv1d\.py"),
    "loop_in_backward": _function_timed_out,
    "uninterruptible_backward": _all(
        lambda r: _function_timed_out(r, hidden_too=False),  # (the hidden cases may say the kernel was stopped)
        lambda r: _events(r, kinds={"timeout", "crash"}, where="conv1d_backward") or pytest.fail("no event says the kernel was stopped")),
    "fork_bomb.ipynb": lambda r: _events(r, where=r"cell 2") or pytest.fail("the fork bomb's cell left no event"),
    "memory_bomb.ipynb": lambda r: _events(r, where=r"cell 2", pattern=r"memory|time|within") or pytest.fail("no event about the memory bomb"),
    "output_flood.ipynb": lambda r: _events(r, kinds={"limit"}, pattern=r"output") or pytest.fail("no event says output was dropped"),
    "os_exit_in_cell": _all(
        lambda r: _events(r, kinds={"crash"}, where=r"cell 1") or pytest.fail("no crash event for cell 1"),
        lambda r: _events(r, where=r"cell 2", pattern=r"not run") or pytest.fail("no event says cell 2 was not run")),
    "sys_exit_in_cell.ipynb": lambda r: _events(r, where=r"cell 2", pattern=r"SystemExit") or pytest.fail("no SystemExit event for cell 2"),
    "os_exit_at_import": lambda r: _events(r, kinds={"crash"}) or pytest.fail("no crash event for the import"),
    "sys_exit_at_import": lambda r: _events(r, pattern=r"SystemExit") or pytest.fail("no event names the SystemExit at import"),
    "os_exit_in_backward": _kernel_died_in_backward,
    "segfault_in_backward": _kernel_died_in_backward,
    "sys_exit_in_backward": _answer_refused("conv1d_backward", r"SystemExit"),
    "lying_objects.ipynb": _answer_refused("y_hat", r"Liar|plain data|cannot be sent"),
    "monkeypatch.ipynb": lambda r: not _events(r, kinds={"crash", "timeout"}) or pytest.fail("the kernel should have survived"),
    "weird_values.ipynb": _all(_answer_refused("y_hat", r"str"), _answer_refused("loss", r"nan|infinit"),
                               _answer_refused("dL_dw", r"shape"), _answer_refused("loss_new", r"complex|cannot be sent")),
    "not_json": lambda r: _events(r, where=r"work\.ipynb", pattern=r"not a readable notebook|JSON") or pytest.fail("no event says the notebook is unreadable"),
    "garbage_answers.yaml": _all(_answer_refused("loss", r"nan|infinit"), _answer_refused("dL_dw", r"shape"),
                                 _answer_refused("y_hat", r"str")),
    "yaml_bomb.yaml": lambda r: _message(r, "y_hat") or pytest.fail("y_hat refused without a message"),
    "bad_signature": lambda r: _events(r, where=r"cell 1") or pytest.fail("nothing says cell 1 sent a malformed message"),
    "nested_bomb.ipynb": lambda r: _message(r, "y_hat") or pytest.fail("y_hat refused without a message"),
    "deep_nesting.json": lambda r: (_events(r, pattern=r"dL_dw") or "dL_dw" in _message(r, "dL_dw")) or pytest.fail("nothing names the unreadable dL_dw"),
    # the trust boundary (issue 10)
    "exception_names": lambda r: _hidden_say_nothing_of_the_student(r, "conv1d_forward", "raised an exception", r"x=|w=|\d\.\d\d"),
    "forged_output": lambda r: _shown_as_text_everywhere(r),
    "huge_numbers.yaml": _all(_answer_refused("y_hat", r"too large"), _answer_refused("dL_db", r"too large")),
    "odd_values.ipynb": _all(_answer_refused("w_new", r"values differ"), _answer_refused("b_new", r"meta|without data"),
                             lambda r: _events(r, where=r"cell 2", pattern=r"without source") or pytest.fail("the cell without source is not reported")),
    "trivial_chain.yaml": _all(*[_answer_refused(q, r"no follow-through credit.*trivial") for q in ("loss", "dL_dw", "w_new", "b_new")]),
    "giant_message.ipynb": lambda r: _events(r, kinds={"limit"}, pattern=r"output dropped") or pytest.fail("no event says output was dropped"),
    "comm_flood": lambda r: _events(r, kinds={"limit"}, pattern=r"256 MiB") or pytest.fail("no event says the byte budget was used up"),
    "repeated_array": _answer_refused("conv1d_forward", r"too large to send"),
    "memfd_bomb": lambda r: (not cgroups.available() or _events(r, kinds={"limit"}, pattern=r"memory")) or pytest.fail("no event says the memory limit stopped it"),
}
NEEDS_CGROUPS = {"memfd_bomb": 16}  # the score where no cgroup can see memory outside the address space (not root)
AFTERMATH = {"fork_bomb.ipynb", "memory_bomb.ipynb", "loop_ignoring_interrupt", "uninterruptible_backward", "os_exit_in_cell",
             "bad_signature", "read_secrets.ipynb"}
ANSWERS_ONLY = {"garbage_answers.yaml", "yaml_bomb.yaml", "deep_nesting.json"}  # no kernel: grading takes milliseconds
SLOW = {"loop_in_cell.ipynb", "loop_ignoring_interrupt", "loop_at_import", "loop_in_backward", "uninterruptible_backward",
        "fork_bomb.ipynb", "memory_bomb.ipynb", "output_flood.ipynb"}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_hostile_example(name: str) -> None:
    """Graded as a batch grades (grade_many, `grader grade`, `grader validate`): a kernel forked from the
    slot's warm zygote, which then serves the next example."""
    example = EXAMPLES[name]
    report, elapsed = grade_within(HOSTILE / name, fast_assignment(), deadline=45 if name in SLOW else 25, warm=True)
    shown = describe(report)
    assert report.status == "graded", shown
    expected = NEEDS_CGROUPS[name] if name in NEEDS_CGROUPS and not cgroups.available() else example.score
    assert abs(report.score - expected) < 1e-6, f"expected {expected:g}, got {report.score:g}\n{shown}"
    scores = question_scores(report)
    for qid, points in example.questions.items() if expected == example.score else ():
        assert abs(scores[qid] - points) < 1e-6, f"{qid}: expected {points:g}, got {scores[qid]:g}\n{shown}"
    size = len(report.model_dump_json())
    assert size < 1_000_000, f"the report is {size} bytes: student data or output was copied into it"
    assert all(len(e.message) <= 2000 for e in report.events), shown
    if name in EXTRA_CHECKS:
        try:
            EXTRA_CHECKS[name](report)
        except (AssertionError, pytest.fail.Exception) as exc:
            raise AssertionError(f"{exc}\n{shown}") from None
    limit = 10 if name in ANSWERS_ONLY else None if name in SLOW else 20
    if limit is not None:
        assert elapsed < limit, f"{name} took {elapsed:.1f} s\n{shown}"
    if name in AFTERMATH:  # the next student in the same slot must not pay for what this one left
        following, _ = grade_within(ROOT / "submissions" / "conv1d" / "all_right_files", fast_assignment(), deadline=25, warm=True)
        assert following.status == "graded" and following.score == 16, f"the next submission after {name}:\n{describe(following)}"


HOSTILE_AS_UNPRIVILEGED = r"""
import json, sys
from grader.api import grade_class
from tests.hostile_helpers import HOSTILE, fast_assignment
paths = [HOSTILE / name for name in sys.argv[1:]]
reports = grade_class(paths, fast_assignment(), jobs=2, cache=False, formats=(), class_folders=False).reports
print(json.dumps([r.model_dump(mode="json") for r in reports]))
"""
# This grader is root outside its user namespace, and Linux exempts root's processes from RLIMIT_NPROC: the
# fork bomb, which that limit stops at once under a grader that is really not root (a sandbox's own user
# namespace counts its own processes), would fork freely for its cell's 10 s here and load the machine
# (a load average of 190 was seen): it is graded as root only.
NOT_IN_A_ROOT_OWNED_NAMESPACE = {"fork_bomb.ipynb"}


@pytest.mark.skipif(shutil.which("unshare") is None or not bwrap_available(), reason="needs util-linux's unshare and bubblewrap")
def test_the_hostile_class_is_graded_alike_when_the_grader_is_not_root(monkeypatch) -> None:
    """Every hostile example, graded as one class (2 job slots, warm zygotes) by a grader that is not root
    (uid 1000 in a user namespace: no uid per sandbox, no cgroups, unprivileged bubblewrap), scores as its
    manifest says, with the same events, and none spoils the next student in its slot. It failed before
    the zygote ran as its sandbox's first process, not dumpable: read_secrets read /proc/1/environ, the
    environment of bubblewrap's own process there, which ran with the students' uid and could be traced."""
    names = sorted(set(EXAMPLES) - NOT_IN_A_ROOT_OWNED_NAMESPACE)
    command = ["unshare", "--user", "--map-user=1000", "--map-group=1000", "--", sys.executable, "-c", HOSTILE_AS_UNPRIVILEGED, *names]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    reports = {Path(r["path"]).name: Report.model_validate(r) for r in json.loads(done.stdout.splitlines()[-1])}
    assert sorted(reports) == names, set(reports) ^ set(names)
    monkeypatch.setattr(cgroups, "available", lambda: False)  # (none without root: the extra checks must know)
    problems = []
    for name, report in sorted(reports.items()):
        expected = NEEDS_CGROUPS.get(name, EXAMPLES[name].score)
        if report.status != "graded" or abs(report.score - expected) > 1e-6:
            problems.append(f"{name}: expected {expected:g}\n{describe(report)}")
            continue
        try:
            EXTRA_CHECKS.get(name, lambda r: None)(report)
        except (AssertionError, pytest.fail.Exception) as exc:
            problems.append(f"{name}: {exc}\n{describe(report)}")
    assert not problems, "\n".join(problems)


# --- secrets outside the submission ------------------------------------------------------------------------

PROBE = r'''
import importlib, json, os, stat, sys
PATHS = json.loads({paths!r})
TOKEN = {token!r}[::-1]  # reversed, so that this notebook does not contain the secret itself


def readable(path):
    try:
        with open(path, "rb") as handle:
            handle.read(1)
        return 1
    except OSError:
        return 0


flags = [readable(path) for path in PATHS]
hits = []
skip = (sys.prefix, sys.base_prefix, "/usr", "/proc", "/sys", "/lib", "/bin", "/sbin")
for folder, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if not os.path.join(folder, d).startswith(skip)]
    for name in files:
        path = os.path.join(folder, name)
        try:
            if stat.S_ISREG(os.stat(path).st_mode):  # (reading a tty or a pipe would block)
                with open(path, "rb") as handle:
                    if TOKEN.encode() in handle.read(1 << 22):
                        hits.append(path)
        except OSError:
            pass
imports = 0
for module in ["reference.conv1d", "grader.checks.scorer"]:
    try:
        importlib.import_module(module)
        imports += 1
    except Exception:
        pass
print(hits)
loss_new = [7, 7, *flags, len(hits), imports]
'''


def _probe_result(report, count: int) -> list:
    check = checks_of(report, "loss_new")[0]
    got = check.got
    assert isinstance(got, list) and got[:2] == [7, 7] and len(got) == count + 2, \
        f"the probe's answer did not come back (did the probe run?): {got!r}\n{describe(report)}"
    return got[2:]


def _plant_class(tmp_path: Path, token: str) -> dict[str, Path]:
    """A grader-side secret, and a class folder with two other students who hold the token."""
    secret = write(tmp_path / "grader-only" / "secret.txt", f"grader secret {token}\n")
    classroom = tmp_path / "class"
    alice = write(classroom / "alice" / "answers.yaml", f"# {token}\n" + ANSWERS_YAML)
    bob = write(classroom / "bob.ipynb", notebook(f"# {token}\n" + FUNCTIONS))
    return {"secret": secret, "class": classroom, "alice": alice, "bob": bob}


@pytest.mark.parametrize("warm", [False, True], ids=["own-kernel", "zygote"])
def test_nothing_outside_the_submission_is_readable(tmp_path: Path, warm: bool) -> None:
    token = f"SECRET-{uuid.uuid4().hex}"
    planted = _plant_class(tmp_path, token)
    paths = [str(planted["secret"]), str(planted["alice"]), str(planted["bob"]),
             "/submission/alice/answers.yaml", "/submission/bob.ipynb", "/submission/../alice/answers.yaml",
             str(ROOT / "rubrics" / "conv1d.yaml"), str(ROOT / "reference" / "conv1d.py"), str(ROOT / "grader" / "api.py"),
             str(ROOT / "submissions" / "conv1d" / "all_right_files" / "answers.yaml"), "/etc/shadow"]
    source = PROBE.format(paths=json.dumps(paths), token=token[::-1])
    # the same probe as a notebook among the class's files, and as a folder of its own
    as_file = write(planted["class"] / "mallory.ipynb", notebook(source))
    as_folder = write(planted["class"] / "mallory_dir" / "work.ipynb", notebook(source))
    problems = []
    for submission in (as_file, as_folder.parent):
        report, _ = grade_within(submission, fast_assignment(), deadline=45, warm=warm)
        flags = _probe_result(report, len(paths) + 2)
        leaked = [path for path, flag in zip(paths, flags) if flag]
        if leaked:
            problems.append(f"{submission.name}: read {leaked}")
        if flags[-2]:
            problems.append(f"{submission.name}: found {flags[-2]} file(s) holding the planted secret (see its output)")
        if flags[-1]:
            problems.append(f"{submission.name}: imported the reference or the grader")
        if token in report.model_dump_json():
            problems.append(f"{submission.name}: the secret is in the report")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("warm", [False, True], ids=["own-kernel", "zygote"])
def test_symlinks_in_a_submission_reach_nothing(tmp_path: Path, warm: bool) -> None:
    token = f"SECRET-{uuid.uuid4().hex}"
    planted = _plant_class(tmp_path, token)
    victim = write(tmp_path / "victim" / "answers.yaml", f"# {token}\n" + ANSWERS_YAML.replace("loss_new: 61.064\n", ""))
    sneaky = tmp_path / "class" / "sneaky"
    sneaky.mkdir()
    (sneaky / "answers.yaml").symlink_to(victim)                    # another student's answers as mine
    (sneaky / "notes.txt").symlink_to(planted["secret"])            # a grader-side file
    (sneaky / "grader-only").symlink_to(planted["secret"].parent)   # a grader-side folder
    (sneaky / "refdir").symlink_to(ROOT / "reference")              # the reference
    paths = ["/home/student/notes.txt", "/home/student/grader-only/secret.txt", "/home/student/refdir/conv1d.py",
             "/submission/notes.txt", "/submission/grader-only/secret.txt", "/submission/refdir/conv1d.py"]
    write(sneaky / "work.ipynb", notebook(PROBE.format(paths=json.dumps(paths), token=token[::-1])))
    report, _ = grade_within(sneaky, fast_assignment(), deadline=45, warm=warm)
    assert report.status == "graded", f"links made the submission not gradable\n{describe(report)}"
    flags = _probe_result(report, len(paths) + 2)
    problems = [f"read {path}" for path, flag in zip(paths, flags) if flag]
    if flags[-2]:
        problems.append(f"found {flags[-2]} file(s) holding the planted secret")
    if flags[-1]:
        problems.append("imported the reference or the grader")
    stolen = {q: s for q, s in question_scores(report).items() if s > 0 and q not in ("conv1d_forward", "conv1d_backward")}
    if stolen:
        problems.append(f"the symlinked answers.yaml (another student's) was graded as this student's: {stolen}")
    if token in report.model_dump_json():
        problems.append("the secret is in the report")
    assert not problems, "\n".join(problems) + "\n" + describe(report)


@pytest.mark.parametrize("warm", [False, True], ids=["own-kernel", "zygote"])
def test_a_named_pipe_in_a_submission_is_refused_and_the_rest_graded(tmp_path: Path, warm: bool) -> None:
    """A submission unpacked from an archive may hold a named pipe; reading or copying it blocks or fails."""
    submission = tmp_path / "piper"
    write(submission / "answers.yaml", ANSWERS_YAML)
    write(submission / "conv1d.py", FUNCTIONS)
    os.mkfifo(submission / "answers2.yaml")
    os.mkfifo(submission / "notes.txt")
    report, _ = grade_within(submission, fast_assignment(), deadline=30, warm=warm)
    assert report.status == "graded" and report.score == 16, describe(report)
    assert _events(report, pattern=r"answers2\.yaml|notes\.txt|pipe|special"), f"nothing says the pipes were refused\n{describe(report)}"


# --- nothing one student leaves behind reaches the next in the same slot ------------------------------------

LEAVE_BEHIND = r"""
import os, time
from ipykernel import get_connection_file
TOKEN = {token!r}[::-1]
written = 0
places = {{"/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~"), os.path.dirname(get_connection_file())}}
skip = ("/proc", "/sys")
for folder, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if not os.path.join(folder, d).startswith(skip)]
    if os.access(folder, os.W_OK):
        places.add(folder)
for index, folder in enumerate(sorted(places)):
    try:
        with open(os.path.join(folder, f".left-behind-{{index}}"), "w") as handle:
            handle.write(TOKEN)
        written += 1
    except OSError:
        pass
import ctypes
libc = ctypes.CDLL(None)
libc.shmat.restype = ctypes.c_void_p
ipc = [libc.shmget(0x5EC0 + i, 64 << 20, 0o1666) for i in range(3)]  # 3 x 64 MiB shared memory (IPC_CREAT | 0666)
ipc += [libc.semget(0x5EC4, 1, 0o1666), libc.msgget(0x5EC5, 0o1666)]
for shmid in ipc[:3]:
    address = libc.shmat(shmid, None, 0)
    ctypes.memset(ctypes.c_void_p(address), 1, 64 << 20)  # really in memory
    libc.shmdt(ctypes.c_void_p(address))
written += sum(i >= 0 for i in ipc)
for folder in ("/tmp", "/dev/shm"):  # a file in a folder its owner made unwritable
    try:
        os.makedirs(os.path.join(folder, "locked", "inner"))
        with open(os.path.join(folder, "locked", "inner", "left"), "w") as handle:
            handle.write(TOKEN)
        os.chmod(os.path.join(folder, "locked", "inner"), 0o500)
        os.chmod(os.path.join(folder, "locked"), 0o500)
        written += 1
    except OSError:
        pass
child = os.fork()
if child == 0:  # a daemon that outlives this kernel, if it can, and keeps writing for a minute
    os.setsid()
    if os.fork() == 0:
        end = time.time() + 60
        while time.time() < end:
            for folder in sorted(places):
                try:
                    with open(os.path.join(folder, ".from-daemon"), "w") as handle:
                        handle.write(TOKEN)
                except OSError:
                    pass
            time.sleep(0.1)
    os._exit(0)
os.waitpid(child, 0)
loss_new = [7, 7, written]
"""

LOOK_AROUND = r"""
import os, stat, sys, time
TOKEN = {token!r}[::-1]
time.sleep(1)
hits = []
skip = (sys.prefix, sys.base_prefix, "/usr", "/proc", "/sys", "/lib", "/bin", "/sbin")
for folder, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if not os.path.join(folder, d).startswith(skip)]
    for name in files:
        path = os.path.join(folder, name)
        try:
            if stat.S_ISREG(os.stat(path).st_mode):  # (reading a tty or a pipe would block)
                with open(path, "rb") as handle:
                    if TOKEN.encode() in handle.read(1 << 22):
                        hits.append(path)
        except OSError:
            pass
ipc = sum(max(0, len(open(f"/proc/sysvipc/{{kind}}").read().splitlines()) - 1) for kind in ("shm", "sem", "msg"))
print(hits, ipc)
loss_new = [7, 7, len(hits), ipc]
"""


def test_nothing_a_student_leaves_behind_reaches_the_next_in_the_slot(tmp_path: Path) -> None:
    """A batch runs students one after another in a slot's warm zygote: files written anywhere writable
    and a daemon that keeps writing must be gone (killed, wiped) before the next student runs."""
    token = f"LEFT-{uuid.uuid4().hex}"
    first = write(tmp_path / "first" / "work.ipynb", notebook(LEAVE_BEHIND.format(token=token[::-1])))
    second = write(tmp_path / "second" / "work.ipynb", notebook(LOOK_AROUND.format(token=token[::-1])))
    report, _ = grade_within(first.parent, fast_assignment(cell_timeout=30), deadline=45, warm=True)
    written = _probe_result(report, 1)[0]
    assert written >= 7, f"the first student could not leave its files and IPC objects: the test is broken\n{describe(report)}"
    report, _ = grade_within(second.parent, fast_assignment(cell_timeout=30), deadline=45, warm=True)
    hits, ipc = _probe_result(report, 2)
    assert hits == 0, f"the next student found {hits} file(s) the previous one left (see its output)\n{describe(report)}"
    assert ipc == 0, f"the next student found {ipc} System V IPC object(s) the previous one left\n{describe(report)}"


AS_UNPRIVILEGED = r"""
import json, sys
from pathlib import Path
from grader.api import grade_class
from tests.hostile_helpers import fast_assignment
first, second = map(Path, sys.argv[1:3])
reports = grade_class([first, second], fast_assignment(cell_timeout=30), jobs=1, cache=False, formats=(), class_folders=False).reports
print(json.dumps([r.model_dump(mode="json") for r in reports]))
"""


@pytest.mark.skipif(shutil.which("unshare") is None or not bwrap_available(), reason="needs util-linux's unshare and bubblewrap")
def test_nothing_is_left_behind_for_the_next_student_when_the_grader_is_not_root(tmp_path: Path) -> None:
    """The same two students in one slot, graded by a grader that is not root (a uid of 1000 in a user
    namespace of its own: no uid per sandbox, bubblewrap unprivileged). Students then share the grader's
    uid, so only the sandbox's own pid namespace tells their processes apart: the daemon must die too."""
    token = f"LEFT-{uuid.uuid4().hex}"
    first = write(tmp_path / "first" / "work.ipynb", notebook(LEAVE_BEHIND.format(token=token[::-1])))
    second = write(tmp_path / "second" / "work.ipynb", notebook(LOOK_AROUND.format(token=token[::-1])))
    command = ["unshare", "--user", "--map-user=1000", "--map-group=1000", "--", sys.executable, "-c", AS_UNPRIVILEGED,
               str(first.parent), str(second.parent)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    left, looked = (Report.model_validate(r) for r in json.loads(done.stdout.splitlines()[-1]))
    assert left.status == looked.status == "graded", (describe(left), describe(looked))
    assert _probe_result(left, 1)[0] >= 7, f"the first student could not leave its files: the test is broken\n{describe(left)}"
    hits, ipc = _probe_result(looked, 2)
    assert hits == 0, f"the next student found {hits} file(s) the previous one left (its daemon lived on?)\n{describe(looked)}"
    assert ipc == 0, f"the next student found {ipc} System V IPC object(s) the previous one left\n{describe(looked)}"


# --- no network -------------------------------------------------------------------------------------------

NETWORK_PROBE = r'''
import json, socket
T = json.loads({targets!r})
flags = []
for host, port in T["tcp"]:
    try:
        socket.create_connection((host, port), timeout=1).close()
        flags.append(1)
    except OSError:
        flags.append(0)
for host, port in T["udp"]:
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.sendto(b"hostile", (host, port))
        sock.close()
    except OSError:
        pass
for address in ["\0" + T["abstract"], T["unix"]]:
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(1)
        sock.connect(address)
        sock.close()
        flags.append(1)
    except OSError:
        flags.append(0)
try:
    socket.getaddrinfo("example.com", 80)
    flags.append(1)
except OSError:
    flags.append(0)
loss_new = [7, 7, *flags]
'''


def _host_addresses() -> list[str]:
    addresses = set()
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.connect(("192.0.2.1", 9))  # no packet is sent; this only picks the outgoing interface
        addresses.add(probe.getsockname()[0])
        probe.close()
    except OSError:
        pass
    try:
        addresses.update(info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET))
    except OSError:
        pass
    return sorted(a for a in addresses if not a.startswith("127."))


def test_no_network_connection_succeeds(tmp_path: Path) -> None:
    listeners = []
    local = socket.create_server(("127.0.0.1", 0))
    anywhere = socket.create_server(("0.0.0.0", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", 0))
    abstract_name = f"dl-grader-hostile-{uuid.uuid4().hex}"
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind("\0" + abstract_name)
    abstract.listen()
    unix_path = str(tmp_path / "grader.sock")
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(unix_path)
    unix.listen()
    listeners = [local, anywhere, udp, abstract, unix]
    try:
        hosts = _host_addresses()
        tcp = [["127.0.0.1", local.getsockname()[1]], ["127.0.0.1", anywhere.getsockname()[1]]]
        tcp += [[host, anywhere.getsockname()[1]] for host in hosts]
        udp_targets = [["127.0.0.1", udp.getsockname()[1]]] + [[host, udp.getsockname()[1]] for host in hosts]
        targets = {"tcp": tcp, "udp": udp_targets, "abstract": abstract_name, "unix": unix_path}
        submission = write(tmp_path / "netcat" / "work.ipynb", notebook(NETWORK_PROBE.format(targets=json.dumps(targets))))
        report, _ = grade_within(submission.parent, fast_assignment(), deadline=45)
        flags = _probe_result(report, len(tcp) + 3)
        names = [f"tcp {h}:{p}" for h, p in tcp] + ["abstract unix socket", "unix socket file", "DNS lookup"]
        reached = [name for name, flag in zip(names, flags) if flag]
        readable, _, _ = select.select(listeners, [], [], 0.5)
        arrived = [type(s).__name__ + str(s.getsockname()) for s in readable]
        assert not reached and not arrived, f"reached from the sandbox: {reached}; connections/datagrams that arrived: {arrived}"
    finally:
        for sock in listeners:
            sock.close()


# --- huge notebooks ------------------------------------------------------------------------------------------

ANSWER_CELL = ("import numpy as np\ny_hat = np.array([14, 20]); loss = 200.0; dL_dy_hat = np.array([12, 16])\n"
               "dL_dw = np.array([44, 72, 100]); dL_db = 28; w_new = np.array([1.56, 0.28, 2.0]); b_new = 0.72\n"
               "y_hat_new = [8.84, 12.68]; loss_new = 61.064\n")


def test_notebook_over_the_size_cap_is_refused_quickly(tmp_path: Path) -> None:
    nb = json.loads(notebook(ANSWER_CELL, FUNCTIONS))
    nb["cells"].insert(0, {"cell_type": "markdown", "id": "big", "metadata": {}, "source": ["x" * 1000 + "\n"] * 36_000})
    path = tmp_path / "huge.ipynb"
    path.write_text(json.dumps(nb))
    assert path.stat().st_size > 33 * 2**20
    report, elapsed = grade_within(path, fast_assignment(), deadline=45)
    assert report.status == "graded" and report.score == 0, describe(report)
    assert _events(report, pattern=r"larger|too large|MiB|size"), f"no event says the notebook is too large\n{describe(report)}"
    assert elapsed < 30, f"refusing a huge notebook took {elapsed:.1f} s"


def test_large_notebook_under_the_cap_is_graded(tmp_path: Path) -> None:
    nb = json.loads(notebook(*(["x = 1"] * 300), ANSWER_CELL, FUNCTIONS))
    nb["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["y" * 1000 + "\n"] * 21_000}]
    path = tmp_path / "large.ipynb"
    path.write_text(json.dumps(nb))
    assert path.stat().st_size > 19 * 2**20
    report, elapsed = grade_within(path, fast_assignment(), deadline=60)
    assert report.status == "graded" and report.score == 16, describe(report)
    assert elapsed < 40, f"a 20 MB notebook with 300 cells took {elapsed:.1f} s"


# --- the rubric's own limits -----------------------------------------------------------------------------------


def test_rubric_memory_and_output_limits_are_applied(tmp_path: Path) -> None:
    """memory_mb: 1536 and output_kb: 4 from the rubric: a 2 GiB allocation must fail, output is capped at 4 KiB."""
    hog_forward = FUNCTIONS.replace("    k = len(w)\n    return", "    hog = np.empty(2**28)  # 2 GiB of address space\n    k = len(w)\n    return", 1)
    assert hog_forward != FUNCTIONS
    path = write(tmp_path / "hog.ipynb", notebook("print('z' * 100_000)\n" + ANSWER_CELL, hog_forward))
    report, _ = grade_within(path, fast_assignment(memory_mb=1536, output_kb=4), deadline=45)
    shown = describe(report)
    scores = question_scores(report)
    assert report.status == "graded" and scores["conv1d_backward"] == 3, shown
    assert scores["conv1d_forward"] == 0, f"a 2 GiB allocation succeeded under memory_mb: 1536\n{shown}"
    assert re.search("MemoryError", _message(report, "conv1d_forward")), shown
    assert _events(report, kinds={"limit"}, pattern=r"\b4 KiB"), f"output was not capped at output_kb: 4\n{shown}"


def test_rubric_total_timeout_is_applied(tmp_path: Path) -> None:
    """total_timeout: 6: functions that take 1.5 s a call (13 calls) must be stopped after about 6 s in all."""
    slow = FUNCTIONS.replace("import numpy as np\n", "import time\n\nimport numpy as np\n", 1)
    slow = slow.replace("    k = len(w)\n", "    time.sleep(1.5)\n    k = len(w)\n")
    write(tmp_path / "slow" / "answers.yaml", ANSWERS_YAML)
    write(tmp_path / "slow" / "conv1d.py", slow)
    report, elapsed = grade_within(tmp_path / "slow", fast_assignment(total_timeout=6), deadline=60)
    shown = describe(report)
    value_points = sum(s for q, s in question_scores(report).items() if not q.startswith("conv1d_"))
    assert report.status == "graded" and value_points == 10, f"the answers file must be graded in full\n{shown}"
    assert elapsed < 6 + 8, f"grading took {elapsed:.1f} s with total_timeout: 6 (13 calls x 1.5 s ignore it)\n{shown}"
    assert any(TIME_WORDS.search(c.message) for q in report.questions for c in q.checks) or _events(report, pattern=r"time"), shown


# --- a batch: it goes on after each, and --jobs 1 and 2 agree ---------------------------------------------------

BATCH = ["sys_exit_in_backward", "sys_exit_at_import", "lying_subclasses.ipynb", "garbage_answers.yaml",
         "weird_values.ipynb", "not_json", "nbformat_v3.ipynb"]


def _copy(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy(source, target)


def _grade_many_within(paths: list[Path], jobs: int, deadline: float) -> list:
    box: dict = {}
    thread = threading.Thread(target=lambda: box.setdefault("reports", grade_class(paths, fast_assignment(), jobs=jobs, class_folders=False).reports), daemon=True)
    thread.start()
    thread.join(deadline)
    assert "reports" in box, f"GRADER HUNG: grade_class(jobs={jobs}) did not finish within {deadline:.0f} s"
    return box["reports"]


def _outcome(report) -> tuple:
    """Everything about a report that must not depend on how many submissions ran at once."""
    return (report.status, report.score,
            [(c.id, c.status, c.score, c.message, c.got) for q in report.questions for c in q.checks],
            [(e.where, e.kind, e.message) for e in report.events])


def test_batch_goes_on_and_jobs_1_and_2_agree(tmp_path: Path) -> None:
    classroom = tmp_path / "class"
    classroom.mkdir()
    for name in BATCH:
        _copy(HOSTILE / name, classroom / name)
    _copy(ROOT / "submissions" / "conv1d" / "all_right_files", classroom / "zz_all_right")  # graded last
    paths = [e.path for e in find_submissions([classroom], class_folders=True).entries]
    assert len(paths) == len(BATCH) + 1
    one = _grade_many_within(paths, jobs=1, deadline=150)
    two = _grade_many_within(paths, jobs=2, deadline=150)
    assert [r.submission for r in one] == [r.submission for r in two] == [p.stem if p.is_file() else p.name for p in paths]
    assert all(r.status == "graded" for r in one + two), "\n".join(describe(r) for r in one + two if r.status != "graded")
    by_name = {r.submission: r for r in one}
    assert by_name["zz_all_right"].score == 16, describe(by_name["zz_all_right"])
    for name in BATCH:
        report = by_name[Path(name).stem if Path(name).suffix else name]
        assert report.score == EXAMPLES[name].score, describe(report)
    for a, b in zip(one, two):
        assert _outcome(a) == _outcome(b), f"jobs 1 and jobs 2 differ:\n{describe(a)}\n{describe(b)}"
    # the reports of a hostile batch can be written out like any other
    from grader.reporters import write_gradebook, write_json, write_markdown

    for report in two:
        write_json(report, tmp_path / "out" / report.submission / "report.json")
        write_markdown(report, tmp_path / "out" / report.submission / "feedback.md")
    write_gradebook(two, fast_assignment().rubric, tmp_path / "out" / "gradebook.csv")
    rows = {row["submission"]: row for row in csv.DictReader((tmp_path / "out" / "gradebook.csv").open())}
    assert {name: float(row["total"]) for name, row in rows.items()} == {r.submission: r.score for r in two}
