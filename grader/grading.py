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
from .runner.pool import FAULTS, ZygotePool
from .runner.zygote import Zygote
from .submissions.answers import read_answers
from .submissions.forms import Submission, classify
from .submissions.staging import Staged
from .transcripts import NeedsRerun, RecordingProcess, ReplayProcess
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
    """Run and score one staged submission; the grader's own faults are raised (``runner.pool.FAULTS``).
    The report carries the transcript of every call into the student's process (``grader.transcripts``)."""
    rubric = assignment.rubric
    scorer = Scorer(rubric, assignment.functions)
    submission, answers, events = _forms(staged)
    if submission is None or not submission.has_code:
        return _report(name, path, assignment, scorer.score(StudentWork(answers), manual), events)
    from .runner.kernel import KernelSession  # (Jupyter's client stack: imported once there is code to run)
    from .submissions.notebooks import read_notebook

    limits = rubric.limits
    session = KernelSession(submission.folder, cell_timeout=limits.cell_timeout, call_timeout=limits.call_timeout,
                            output_limit=limits.output_kb * 1024, slot=slot, use_bwrap=sandbox, zygote=zygote,
                            memory_mb=limits.memory_mb, disk_mb=limits.disk_mb, total_timeout=limits.total_timeout)
    timings: dict[str, float] = {}
    recorder = RecordingProcess(session)
    try:
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
            questions = scorer.score(StudentWork(answers, recorder), manual, timings)
    finally:
        events += session.events
        with _timed(timings, "reset"):
            session.close()
    training = sum(c.seconds or 0 for q in questions for c in q.checks if c.kind == "training")
    timings["training"] = round(training, 4)
    timings["checks"] = round(max(0.0, timings.pop("scoring") - training), 4)
    report = _report(name, path, assignment, questions, events)
    report.timings = {**staged.timings, **timings}
    report.transcript = recorder.transcript([e.model_dump() for e in session.events])
    return report


def rescore_staged(staged: Staged, assignment: Assignment, transcript: dict, *, name: str, path: Path | str,
                   manual: Mapping[str, Any] | None = None) -> Report | None:
    """Score a staged submission again from the transcript of an earlier run, in the grader's process
    alone; None when the rubric now asks for something the transcript lacks (it must run again)."""
    started = time.monotonic()
    submission, answers, events = _forms(staged)
    process = ReplayProcess(transcript) if submission is not None and submission.has_code else None
    try:
        questions = Scorer(assignment.rubric, assignment.functions).score(StudentWork(answers, process), manual)
    except NeedsRerun:
        return None
    if process is not None:
        events += [RunEvent.model_validate(e) for e in transcript.get("events", [])]
    report = _report(name, path, assignment, questions, events)
    report.transcript = transcript if process is not None else None
    report.seconds = round(time.monotonic() - started, 3)
    report.timings = {"rescored": report.seconds}
    return report


def _forms(staged: Staged) -> tuple[Submission | None, dict[str, Any], list[RunEvent]]:
    """What a staged submission holds (None: nothing usable), its answers files read, and the events so far."""
    events = list(staged.events)
    try:
        submission = classify(staged.folder)
    except SubmissionError as exc:
        events.append(RunEvent(where="(submission)", kind="error", message=str(exc)))
        return None, {}, events
    answers: dict[str, Any] = {}
    for file in submission.answer_files:
        values, problems = read_answers(file)
        answers.update(values)
        events += [RunEvent(where=file.name, kind="error", message=p) for p in problems]
    return submission, answers, events


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
