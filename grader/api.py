"""The plain Python API under the CLI: ``grade(submission, rubric) -> Report`` and ``grade_class``.

Both travel the one path: find and name the submissions (``grader.submissions``), stage each into a
private copy, grade it under the runner's fault policy (``grader.grading``), apply the late policy,
then write the reports. One broken submission never stops a batch: anything unexpected while grading
it becomes a not-gradable report with the reason, and the batch goes on.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from .assignment import Assignment, load_assignment
from .cache import ReportCache, cache_key, submission_key
from .executors import Job, executor_for
from .grading import grade_with_retry, not_gradable, rescore_staged
from .transcripts import NO_CODE
from .late import LateSubmissions
from .report import Report
from .reporters import CLASS_FORMATS, DEFAULT_FORMATS, ROSTER_FORMATS, write_class, write_submission
from .roster import Roster, check_roster
from .rubric import Rubric
from .runner.pool import ZygotePool
from .similarity import source_code
from .submissions.classes import Entry, Skipped, find_submissions
from .submissions.names import submission_name
from .submissions.staging import stage

RubricLike = Assignment | Rubric | Path | str


def grade(submission: Path | str, rubric: RubricLike, *, name: str | None = None,
          manual: Mapping[str, Any] | None = None, sandbox: bool | None = None, late: LateSubmissions | None = None,
          exclude: Iterable[Path] = (), pool: ZygotePool | None = None, slot: int = 0) -> Report:
    """Grade one submission (a file or a folder) against a rubric (or a kit, or a loaded Assignment).

    ``exclude``: paths inside a folder submission that are not the student's work (a kit, the grader's
    own outputs). ``pool``: warm zygotes to fork this submission's kernel from (a batch passes one).
    """
    assignment = load_assignment(rubric)
    path = Path(submission)
    name = name or submission_name(path)
    own_pool = pool is None
    pool = pool or ZygotePool(use_bwrap=sandbox, warm=False)
    try:
        with tempfile.TemporaryDirectory(prefix="dl-grader-staged-") as tmp:
            staged = stage(path, Path(tmp) / "submission", exclude=exclude)
            report = grade_with_retry(staged, assignment, name=name, path=path, pool=pool, slot=slot, manual=manual,
                                      sandbox=sandbox)
    finally:
        if own_pool:
            pool.close()
    return late.apply(report) if late is not None else report


@dataclass
class ClassResult:
    """What ``grade_class`` did: a report per submission (in order), what it skipped, where it wrote."""

    assignment: Assignment
    reports: list[Report]
    skipped: list[Skipped] = field(default_factory=list)
    out: Path | None = None
    late: LateSubmissions | None = None
    cached: int = 0  # unchanged: the earlier report as it was
    rescored: int = 0  # scored again from a transcript, no student code run
    run: int = 0  # run (again)
    roster: Roster | None = None

    @property
    def graded(self) -> list[Report]:
        return [r for r in self.reports if r.status == "graded"]

    @property
    def mean(self) -> float | None:
        graded = self.graded
        return sum(r.final_score for r in graded) / len(graded) if graded else None

    def unmatched_timestamps(self) -> tuple[list[str], list[str]]:
        """(graded submissions without a timestamp, timestamps that match no submission)."""
        return self.late.unmatched(self.reports) if self.late is not None else ([], [])

    def off_roster(self) -> list[Report]:
        """Reports of submissions that no roster student handed in (none without a roster)."""
        return self.roster.match(self.reports)[1] if self.roster is not None else []


def grade_class(paths: Iterable[Path | str], rubric: RubricLike, *, out: Path | str | None = None, jobs: int = 1,
                executor: str = "local", cache: bool | ReportCache = True,
                overrides: Mapping[str, Mapping[str, Any]] | None = None, late: LateSubmissions | None = None,
                formats: Iterable[str] = DEFAULT_FORMATS, class_folders: bool | None = None, sandbox: bool | None = None,
                roster: Roster | None = None, warm: bool = True, rerun: bool = False,
                on_found: Callable[[int], None] | None = None,
                on_done: Callable[[Report], None] | None = None) -> ClassResult:
    """Grade a class: ``paths`` are class folders (each entry one student) or single submissions.

    ``executor``: ``"local"`` (``jobs`` at a time, one warm zygote per job slot) or a dask scheduler's
    address (``tcp://host:8786``, or ``local:N`` for a LocalCluster of N workers here). ``cache``: reuse
    the reports of unchanged submissions (True: in ``out/.cache``). ``overrides``: TA points by
    submission name. ``late``: a late policy with the hand-in times. With ``out``, every report is
    written (``formats``) as soon as it is done, the class outputs at the end. ``class_folders``: see
    ``grader.submissions.classes.find_submissions``. A submission whose report the cache holds for this
    very rubric is not graded again; one whose transcript (``grader.transcripts``) answers everything
    the rubric now asks is scored again without running (``rerun``: run every submission's code).
    ``roster``: who handed in which submission
    (``grader.roster``), for the LMS formats (canvas, moodle) and the overview; it is checked for
    those formats before anything is graded. ``on_found(count)`` is told how many submissions
    were found before grading starts; ``on_done(report)`` gets each report. Reports come back in the
    order found.
    """
    assignment = load_assignment(rubric)
    formats = tuple(formats)
    target = Path(out) if out is not None else None
    lms = [f for f in formats if f in ROSTER_FORMATS]
    if lms and target is not None:
        if roster is None:
            raise ValueError(f"--format {lms[0]} needs a roster (--roster roster.csv): its rows are the roster's students")
        check_roster(roster, lms)
    found = find_submissions(paths, class_folders, reserved=_reserved_names())
    if on_found is not None:
        on_found(len(found.entries))
    store = cache if isinstance(cache, ReportCache) else ReportCache(target / ".cache") if cache and target else None
    overrides = overrides or {}
    reports: list[Report | None] = [None] * len(found.entries)
    codes: dict[int, str] = {}  # the staged copies' code, for the similarity report (grader.similarity)
    result = ClassResult(assignment, [], found.skipped, target, late, roster=roster)

    def finish(index: int, entry: Entry, report: Report) -> None:
        report = report.model_copy(update={"submission": entry.name, "path": str(entry.path), "code": codes.pop(index, None)})
        if late is not None:
            report = late.apply(report)
        if target is not None:
            write_submission(report, target, formats)
        reports[index] = report
        if on_done is not None:
            on_done(report)

    def jobs_to_run():
        for index, entry in enumerate(found.entries):
            manual = next((overrides[k] for k in entry.keys if k in overrides), None)
            job = Job(index, entry, manual)
            try:
                job.staged = stage(entry.path, job.folder / "submission")
                if "similarity" in formats:
                    codes[index] = _code(job.staged.folder)
                job.submission_key = submission_key(entry.name, job.staged) if store else ""
                key = cache_key(job.submission_key, assignment.rubric, manual) if store else ""
                cached = store.get(key) if store else None
                rescored = None if cached is not None or store is None or rerun else _rescored(store, job, assignment)
            except Exception as exc:  # noqa: BLE001 - one unreadable submission never stops the batch
                job.close()
                finish(index, entry, not_gradable(entry.name, entry.path, assignment,
                                                  f"could not be staged: {type(exc).__name__}: {exc}"))
                continue
            if cached is not None or rescored is not None:
                if cached is not None:
                    result.cached += 1
                else:
                    result.rescored += 1
                    store.put(key, rescored)
                job.close()
                finish(index, entry, cached or rescored)
                continue
            job.key = key
            yield job

    def done(job: Job, report: Report) -> None:
        if store is not None:
            store.put(job.key, report)
            if report.status == "graded":
                store.put_transcript(job.submission_key, report.transcript or NO_CODE)
        result.run += 1
        finish(job.index, job.entry, report)

    run = executor_for(executor, jobs=jobs, sandbox=sandbox, warm=warm)
    run(jobs_to_run(), assignment, done)
    result.reports = [r for r in reports if r is not None]
    if target is not None:
        write_class(result.reports, assignment.rubric, target, formats, skipped=result.skipped, roster=roster)
    return result


def _rescored(store: ReportCache, job: Job, assignment: Assignment) -> Report | None:
    """The submission scored again from its transcript (no student code runs), if it has one that answers
    everything this rubric asks; else None."""
    transcript = store.transcript(job.submission_key)
    if transcript is None:
        return None
    try:
        return rescore_staged(job.staged, assignment, transcript, name=job.entry.name, path=job.entry.path, manual=job.manual)
    except Exception:  # noqa: BLE001 - a transcript that cannot be used (another version, damaged): run it instead
        return None


def _code(folder: Path) -> str:
    """The staged copy's code for the similarity report; a problem reading it never touches the grade."""
    try:
        return source_code(folder)
    except Exception:  # noqa: BLE001 - similarity is for a person to look at, not part of grading
        return ""


def _reserved_names() -> set[str]:
    """Names a submission's report folder may not take: the class outputs beside them, and the cache."""
    return {name for name, _writer in CLASS_FORMATS.values()} | {".cache"}


__all__ = ["ClassResult", "grade", "grade_class", "grade_with_retry"]
