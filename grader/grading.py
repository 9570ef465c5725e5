"""Grading one staged submission: run its code in the runner, score it with the checks, make the Report.

``grade_staged`` is the whole flow for one submission once ``grader.submissions.staging`` has made
its private copy; every caller (a single ``grade``, a local batch, a dask worker) ends here, under the
runner pool's fault policy (``grade_with_retry``). Anything the grader could not do becomes a
not-gradable report with the reason, never a silent zero.
"""

from __future__ import annotations

import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Mapping

from .assignment import Assignment
from .checks.scorer import Scorer
from .checks.work import StudentWork
from .errors import ExpressionError, ReferenceError_, SubmissionError
from .report import Report, RunEvent
from .runner.kernel import KernelSession
from .runner.pool import FAULTS, ZygotePool
from .runner.zygote import Zygote
from .submissions.answers import read_answers
from .submissions.forms import classify
from .submissions.notebooks import read_notebook
from .submissions.staging import Staged
from .version import __version__


def grade_with_retry(staged: Staged, assignment: Assignment, *, name: str, path: Path | str, pool: ZygotePool,
                     slot: int = 0, manual: Mapping[str, Any] | None = None, sandbox: bool | None = None) -> Report:
    """``grade_staged`` under the pool's fault policy; what still fails is reported as not-gradable."""
    started = time.monotonic()
    try:
        report = pool.run(slot, lambda zygote: grade_staged(staged, assignment, name=name, path=path, manual=manual,
                                                            slot=slot, sandbox=sandbox, zygote=zygote))
    except (*FAULTS, ReferenceError_, ExpressionError) as exc:
        report = not_gradable(name, path, assignment, str(exc))
    except Exception as exc:  # noqa: BLE001 - a grader bug must not look like the student's zero
        report = not_gradable(name, path, assignment, f"internal error: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}")
    report.seconds = round(time.monotonic() - started, 3)
    return report


def grade_staged(staged: Staged, assignment: Assignment, *, name: str, path: Path | str,
                 manual: Mapping[str, Any] | None = None, slot: int = 0, sandbox: bool | None = None,
                 zygote: Zygote | None = None) -> Report:
    """Run and score one staged submission; the grader's own faults are raised (``runner.pool.FAULTS``)."""
    rubric = assignment.rubric
    events = list(staged.events)
    scorer = Scorer(rubric, assignment.functions)
    try:
        submission = classify(staged.folder)
    except SubmissionError as exc:
        events.append(RunEvent(where="(submission)", kind="error", message=str(exc)))
        return _report(name, path, assignment, scorer.score(StudentWork(), manual), events)
    answers: dict[str, Any] = {}
    for file in submission.answer_files:
        values, problems = read_answers(file)
        answers.update(values)
        events += [RunEvent(where=file.name, kind="error", message=p) for p in problems]
    session = None
    if submission.has_code:
        limits = rubric.limits
        session = KernelSession(submission.folder, cell_timeout=limits.cell_timeout, call_timeout=limits.call_timeout,
                                output_limit=limits.output_kb * 1024, slot=slot, use_bwrap=sandbox, zygote=zygote,
                                memory_mb=limits.memory_mb, disk_mb=limits.disk_mb, total_timeout=limits.total_timeout)
    timings: dict[str, float] = {}
    try:
        if session is not None:
            with _timed(timings, "kernel_start"):
                session.start()
            with _timed(timings, "cells"):
                for notebook_path in submission.notebooks:
                    notebook = read_notebook(notebook_path, events, where=notebook_path.relative_to(submission.folder).as_posix())
                    if notebook is not None:
                        session.run_notebook(notebook)
                if submission.modules:
                    session.load_modules(submission.modules)
        with _timed(timings, "scoring"):
            questions = scorer.score(StudentWork(answers, session), manual, timings)
    finally:
        if session is not None:
            events += session.events
            with _timed(timings, "reset"):
                session.close()
    training = sum(c.seconds or 0 for q in questions for c in q.checks if c.kind == "training")
    timings["training"] = round(training, 4)
    timings["checks"] = round(max(0.0, timings.pop("scoring") - training), 4)
    report = _report(name, path, assignment, questions, events)
    report.timings = {**staged.timings, **timings}
    return report


@contextmanager
def _timed(timings: dict[str, float], stage: str):
    started = time.monotonic()
    try:
        yield
    finally:
        timings[stage] = round(timings.get(stage, 0.0) + time.monotonic() - started, 4)


def _report(name: str, path: Path | str, assignment: Assignment, questions: list, events: list[RunEvent]) -> Report:
    return Report(submission=name, path=str(path), rubric=assignment.rubric.id, questions=questions, events=events,
                  score=round(sum(q.score for q in questions), 6), max_score=assignment.rubric.max_points,
                  grader_version=__version__)


def not_gradable(name: str, path: Path | str, assignment: Assignment, reason: str) -> Report:
    """A report that says the grader could not grade: no score, the reason instead."""
    return Report(submission=name, path=str(path), rubric=assignment.rubric.id, status="not-gradable", reason=reason,
                  score=0.0, max_score=assignment.rubric.max_points, questions=[], grader_version=__version__)
