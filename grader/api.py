"""The plain Python API under the CLI: ``grade(submission, rubric) -> Report`` and batch grading.

One broken submission never stops a batch: anything unexpected while grading it becomes a
"not-gradable" report with the reason, and the batch goes on.
"""

from __future__ import annotations

import os
import queue
import shutil
import stat
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import nbformat

from . import __version__
from .cache import ReportCache, cache_key
from .kit import is_kit, load_kit
from .expressions import ExpressionError, load_reference
from .report import Report, RunEvent
from .rubric import Rubric, load_rubric
from .runner.kernel import InfrastructureError, KernelSession
from .runner.zygote import Zygote, ZygoteError
from .scoring import ReferenceError_, Scorer
from .student import StudentWork
from .submission import MAX_NOTEBOOK_BYTES, SubmissionError, discover, read_answers, submission_name


@dataclass
class Assignment:
    """A rubric with its reference functions loaded: what grading one class needs, loaded once."""

    rubric: Rubric
    functions: Mapping[str, Callable]
    path: str = "<rubric>"

    @classmethod
    def load(cls, rubric: Rubric | Path | str) -> Assignment:
        """From a Rubric, a rubric file, or a student kit folder (see ``grader.kit``)."""
        if isinstance(rubric, Rubric):
            return cls(rubric, load_reference(rubric), "<rubric>")
        if is_kit(Path(rubric)):
            loaded, recorded = load_kit(Path(rubric))
            return cls(loaded, recorded, str(rubric))
        loaded = load_rubric(rubric)
        return cls(loaded, load_reference(loaded, str(rubric)), str(rubric))


def grade(submission: Path | str, rubric: Assignment | Rubric | Path | str, *,
          manual: Mapping[str, Any] | None = None, slot: int = 0, sandbox: bool | None = None,
          zygote: Zygote | None = None) -> Report:
    """Grade one submission (a file or a folder) against a rubric.

    ``zygote``: a warm kernel parent to fork this submission's kernel from (see ``grade_many``).
    """
    assignment = rubric if isinstance(rubric, Assignment) else Assignment.load(rubric)
    started = time.monotonic()
    path = Path(submission)
    try:
        report = _grade(path, assignment, manual or {}, slot, sandbox, zygote)
    except (InfrastructureError, ReferenceError_, ExpressionError) as exc:
        report = not_gradable(path, assignment, str(exc))
    except Exception as exc:  # noqa: BLE001 - a grader bug must not look like the student's zero
        report = not_gradable(path, assignment, f"internal error: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}")
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _grade(path: Path, assignment: Assignment, manual: Mapping[str, Any], slot: int, sandbox: bool | None,
           zygote: Zygote | None) -> Report:
    rubric = assignment.rubric
    events: list[RunEvent] = []
    staging = tempfile.TemporaryDirectory(prefix="dl-grader-staged-")
    try:
        staged = stage(path, Path(staging.name), events)
        return _grade_staged(path, staged, assignment, manual, slot, sandbox, zygote, events)
    finally:
        staging.cleanup()


def _grade_staged(path: Path, staged: Path, assignment: Assignment, manual: Mapping[str, Any], slot: int,
                  sandbox: bool | None, zygote: Zygote | None, events: list[RunEvent]) -> Report:
    rubric = assignment.rubric
    try:
        submission = discover(staged)
    except SubmissionError as exc:
        events.append(RunEvent(where=path.name, kind="error", message=str(exc).replace(str(staged), path.name)))
        questions = Scorer(rubric, assignment.functions).score(StudentWork(), manual)
        return _report(path, path.stem if path.suffix else path.name, assignment, questions, events)
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
                                memory_mb=limits.memory_mb, total_timeout=limits.total_timeout)
    try:
        if session is not None:
            session.start()
            for notebook_path in submission.notebooks:
                notebook = _read_notebook(notebook_path, events)
                if notebook is not None:
                    session.run_notebook(notebook)
            if submission.modules:
                session.load_modules(submission.modules)
        questions = Scorer(rubric, assignment.functions).score(StudentWork(answers, session), manual)
    finally:
        if session is not None:
            events += session.events
            session.close()
    return _report(path, submission.name, assignment, questions, events)


def stage(path: Path, into: Path, events: list[RunEvent]) -> Path:
    """A private copy of one submission, regular files only.

    Only this copy is ever shown to the sandbox: never the folder a single file lies in (the class),
    never what a symbolic link points to, never a pipe or device. What is left out is reported.
    """
    if path.is_symlink() or not (path.is_file() or path.is_dir()):
        events.append(RunEvent(where=path.name, kind="error", message="not a regular file or folder; not graded"))
        target = into / path.name
        target.mkdir()
        return target
    if path.is_file():
        target = into / path.name
        shutil.copyfile(path, target)
        return target
    target = into / path.name
    target.mkdir()
    for root, dirs, files in os.walk(path):  # os.walk does not follow symbolic links to folders
        relative = Path(root).relative_to(path)
        for name in dirs:
            if (Path(root) / name).is_symlink():
                events.append(RunEvent(where=str(relative / name), kind="warning", message="a symbolic link: left out"))
            else:
                (target / relative / name).mkdir()
        for name in files:
            source = Path(root) / name
            mode = source.lstat().st_mode
            if stat.S_ISREG(mode):
                shutil.copyfile(source, target / relative / name)
            else:
                kind = "a symbolic link" if stat.S_ISLNK(mode) else "a special file (a pipe, socket or device)"
                events.append(RunEvent(where=str(relative / name), kind="warning", message=f"{kind}: left out"))
    return target


def _read_notebook(path: Path, events: list[RunEvent]) -> nbformat.NotebookNode | None:
    """Read (and upgrade to v4) a notebook; a broken one is reported, not executed."""
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        events.append(RunEvent(where=path.name, kind="error", message=f"notebook is larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB; not run"))
        return None
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - not JSON, not a notebook, unknown version
        events.append(RunEvent(where=path.name, kind="error", message=f"not a readable notebook: {str(exc).splitlines()[0][:200]}"))
        return None
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        events.append(RunEvent(where=path.name, kind="error", message="notebook has no list of cells"))
        return None
    return notebook


def _report(path: Path, name: str, assignment: Assignment, questions: list, events: list[RunEvent]) -> Report:
    return Report(submission=name, path=str(path), rubric=assignment.rubric.id, questions=questions, events=events,
                  score=round(sum(q.score for q in questions), 6), max_score=assignment.rubric.max_points,
                  grader_version=__version__)


def not_gradable(path: Path, assignment: Assignment, reason: str) -> Report:
    """A report that says the grader could not grade: no score, the reason instead."""
    name = submission_name(path)
    return Report(submission=name, path=str(path), rubric=assignment.rubric.id, status="not-gradable", reason=reason,
                  score=0.0, max_score=assignment.rubric.max_points, questions=[], grader_version=__version__)


def grade_many(submissions: Iterable[Path], rubric: Assignment | Rubric | Path | str, *, jobs: int = 1,
               manual: Mapping[str, Mapping[str, Any]] | None = None, sandbox: bool | None = None,
               warm: bool = True, cache: ReportCache | None = None,
               on_done: Callable[[Report], None] | None = None) -> list[Report]:
    """Grade submissions, ``jobs`` at a time; results come back in the order given.

    With ``warm`` (the default) each job slot keeps one sandboxed zygote that forks a fresh kernel per
    submission, so no submission pays for starting Python and importing torch. A submission that
    could not be graded is retried once on a fresh zygote before it is reported as not-gradable.
    With a ``cache``, unchanged submissions get their earlier report back without running anything.
    """
    assignment = rubric if isinstance(rubric, Assignment) else Assignment.load(rubric)
    paths = list(submissions)
    slots: queue.Queue[int] = queue.Queue()
    for slot in range(max(1, jobs)):
        slots.put(slot)
    pool = ZygotePool(use_bwrap=sandbox) if warm else None

    def one(path: Path) -> Report:
        name = submission_name(path)
        key = cache_key(path, assignment.rubric, (manual or {}).get(name)) if cache else ""
        cached = cache.get(key) if cache else None
        if cached is not None:
            if on_done is not None:
                on_done(cached)
            return cached
        slot = slots.get()
        try:
            report = grade(path, assignment, manual=(manual or {}).get(name), slot=slot, sandbox=sandbox,
                           zygote=pool.get(slot) if pool else None)
            if report.status == "not-gradable" and pool is not None:
                pool.restart(slot)
                report = grade(path, assignment, manual=(manual or {}).get(name), slot=slot, sandbox=sandbox,
                               zygote=pool.get(slot))
        finally:
            slots.put(slot)
        if cache is not None:
            cache.put(key, report)
        if on_done is not None:
            on_done(report)
        return report

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool_executor:
            return list(pool_executor.map(one, paths))
    finally:
        if pool is not None:
            pool.close()


class ZygotePool:
    """One warm zygote per job slot, started on first use; a slot whose zygote fails runs cold."""

    def __init__(self, use_bwrap: bool | None = None):
        self.use_bwrap = use_bwrap
        self._zygotes: dict[int, Zygote | None] = {}

    def get(self, slot: int) -> Zygote | None:
        if slot not in self._zygotes:
            zygote = Zygote(slot, use_bwrap=self.use_bwrap)
            try:
                zygote.start()
            except (ZygoteError, OSError):
                zygote.close()
                zygote = None
            self._zygotes[slot] = zygote
        return self._zygotes[slot]

    def restart(self, slot: int) -> None:
        zygote = self._zygotes.pop(slot, None)
        if zygote is not None:
            zygote.close()

    def close(self) -> None:
        for slot in list(self._zygotes):
            self.restart(slot)


def is_class_folder(folder: Path) -> bool:
    """A folder with sub-folders (or a manifest) holds a class; a folder of plain files is one student."""
    return any(p.is_dir() and not p.name.startswith((".", "_")) or p.name.startswith("manifest.") for p in Path(folder).iterdir())


def list_submissions(folder: Path) -> list[Path]:
    """The submissions in a class folder: each notebook, module, answers file or sub-folder is one student."""
    skip = {"manifest.yaml", "manifest.yml", "overrides.yaml", "overrides.yml"}
    entries = [p for p in sorted(Path(folder).iterdir()) if not p.name.startswith((".", "_")) and p.name not in skip]
    return [p for p in entries if p.is_dir() or p.suffix in {".ipynb", ".py", ".yaml", ".yml", ".json"}]
