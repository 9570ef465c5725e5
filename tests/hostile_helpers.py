"""Helpers for tests/test_hostile.py: a fast copy of the conv1d rubric, grading with a deadline, builders.

Hostile code may hang the grader (that is what the tests look for), so every grading here runs in a
daemon thread with a deadline: a hang fails the test instead of blocking the run, and the processes the
hung submission left (they run as the slot's own uid) are killed so that they do not eat the CPU.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import threading
import time
from functools import lru_cache
from pathlib import Path

import pytest

from grader import Assignment, grade
from grader.references import load_reference
from grader.report import Report
from grader.rubric import parse_rubric
from grader.runner.sandbox import BASE_UID

ROOT = Path(__file__).resolve().parent.parent
RUBRIC = ROOT / "rubrics" / "conv1d.yaml"
HOSTILE = ROOT / "submissions" / "hostile"
REAL_LIMITS = "limits:\n  cell_timeout: 30\n  call_timeout: 10\n"
# Small enough to keep the suite fast, large enough that honest work (a 200 MB print, a kernel start
# on a loaded machine) never hits them; no expected score depends on them.
FAST = {"cell_timeout": 10, "call_timeout": 2}


def rubric_text(**limits: float) -> str:
    """rubrics/conv1d.yaml with its limits block replaced by ``limits``."""
    text = RUBRIC.read_text(encoding="utf-8")
    assert REAL_LIMITS in text, "the limits block of rubrics/conv1d.yaml changed; update tests/hostile_helpers.py"
    block = "limits:\n" + "".join(f"  {key}: {value}\n" for key, value in limits.items())
    return text.replace(REAL_LIMITS, block)


def answers_and_code(rubric):
    """The rubric's pen-and-paper answers and code (its value and function checks): what these hostile
    submissions attempt. Its later parts (a training experiment, which seeds torch in every student
    kernel, seconds a submission; free-text questions for a TA) score 0 for every one of them, so leaving
    them out changes no expected score and keeps the suite fast."""
    questions = [q for q in rubric.questions if all(c.kind in ("value", "function") for c in q.checks)]
    updates: dict = {"questions": questions}
    if "experiments" in type(rubric).model_fields:
        updates["experiments"] = {}
    return rubric.model_copy(update=updates)


@lru_cache(maxsize=None)
def _assignment(items: tuple) -> Assignment:
    rubric = answers_and_code(parse_rubric(rubric_text(**dict(items)), "conv1d-fast.yaml"))
    assert rubric.id == "conv1d" and rubric.max_points == 16, "the answers-and-code part of conv1d is no longer 16 points"
    return Assignment(rubric, load_reference(rubric), "conv1d-fast.yaml")


def fast_assignment(**overrides: float) -> Assignment:
    """The conv1d rubric's answers and code (16 points) with small time limits (and any other limits given)."""
    return _assignment(tuple(sorted({**FAST, **overrides}.items())))


_burned = 0  # slots given up after a hang (what a hung grading left behind must not meet the next test)


def worker_slot() -> int:
    """A sandbox slot (so a uid) of this pytest worker's own, apart from the slots 0.. that grade_class uses."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    return 40 + 100 * index + _burned


def kill_uid(uid: int) -> None:
    """Kill what a hung submission left running: every process of its sandbox uid."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ValueError):
            pass


_POOL = None


def warm_zygote(slot: int):
    """This worker's warm kernel parent for ``slot``, as ``grade_class`` uses one per job slot: kept for
    the whole session, so that the examples run one after another through it, like a batch."""
    global _POOL
    from grader.runner.pool import ZygotePool

    if _POOL is None:
        _POOL = ZygotePool()
        atexit.register(_POOL.close)
    zygote = _POOL.get(slot)
    assert zygote is not None, "the warm kernel parent (zygote) did not start"
    return zygote


def _discard_zygote(slot: int) -> None:
    if _POOL is not None:
        try:
            _POOL.restart(slot)
        except Exception:  # noqa: BLE001 - best effort after a hang
            pass


def grade_within(path: Path, assignment: Assignment, deadline: float, slot: int | None = None,
                 warm: bool = False) -> tuple[Report, float]:
    """Grade ``path`` (``warm``: with a kernel forked from this worker's zygote, as a batch does; otherwise
    with a kernel of its own, as ``grade`` alone does); fail the test, not hang it, if the grader has not
    answered within ``deadline`` s."""
    slot = worker_slot() if slot is None else slot
    zygote = warm_zygote(slot) if warm else None  # (starting it is not part of the deadline)
    box: dict = {}

    def target() -> None:
        try:
            box["report"] = grade(path, assignment, slot=slot, pool=_POOL) if warm else grade(path, assignment, slot=slot)
        except BaseException as exc:  # noqa: BLE001 - grade() must never raise; report it if it does
            box["error"] = exc

    started = time.monotonic()
    thread = threading.Thread(target=target, daemon=True, name=f"grade-{Path(path).name}")
    thread.start()
    thread.join(deadline)
    elapsed = time.monotonic() - started
    if thread.is_alive():
        global _burned
        # a zygote's sandbox leased its uid; a cold one asks for BASE_UID + slot, free unless another holds it
        kill_uid(zygote.sandbox.uid if zygote is not None and zygote.sandbox.uid is not None else BASE_UID + slot)
        if warm:
            _discard_zygote(slot)
        _burned += 1
        pytest.fail(f"GRADER HUNG: grading {Path(path).name} did not finish within {deadline:.0f} s "
                    f"(the submission's processes were killed; the grading thread is still blocked)")
    if "error" in box:
        raise AssertionError(f"grade() raised instead of returning a report: {box['error']!r}") from box["error"]
    return box["report"], elapsed


def notebook(*cells: str, nbformat_minor: int = 5) -> str:
    """An nbformat 4 notebook whose code cells are ``cells``."""
    return json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"cell{i + 1}", "metadata": {}, "outputs": [],
                   "source": source.splitlines(keepends=True)} for i, source in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": nbformat_minor}, indent=1)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


ANSWERS_YAML = """\
y_hat: [14, 20]
loss: 200
dL_dy_hat: [12, 16]
dL_dw: [44, 72, 100]
dL_db: 28
w_new: [1.56, 0.28, 2.0]
b_new: 0.72
y_hat_new: [8.84, 12.68]
loss_new: 61.064
"""

FUNCTIONS = '''\
import numpy as np


def conv1d_forward(x, w, b):
    k = len(w)
    return np.array([np.dot(x[i:i + k], w) for i in range(len(x) - k + 1)]) + b


def conv1d_backward(x, w, b, dy):
    k = len(w)
    dx = np.zeros(len(x))
    for i in range(len(dy)):
        dx[i:i + k] += dy[i] * w
    dw = np.array([np.dot(x[j:j + len(dy)], dy) for j in range(k)])
    return dx, dw, np.sum(dy)
'''


def question_scores(report: Report) -> dict[str, float]:
    return {q.id: q.score for q in report.questions}


def checks_of(report: Report, question_id: str) -> list:
    return next(q.checks for q in report.questions if q.id == question_id)


def describe(report: Report) -> str:
    """Everything a failing assertion should show: status, scores, messages, events."""
    lines = [f"{report.submission}: {report.status} {report.score:g}/{report.max_score:g} {report.reason or ''}"[:800]]
    for question in report.questions:
        for check in question.checks:
            if check.status != "passed":
                lines.append(f"  {check.id}: {check.status} {check.score:g} {check.message[:200]!r}")
    lines += [f"  event {e.where} [{e.kind}] {e.message[:200]!r}" for e in report.events]
    return "\n".join(lines)
