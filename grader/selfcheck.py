"""``check("y_hat")`` inside a student's own notebook: one question's public checks, as a small table.

This runs in the student's own kernel, on their own machine, so it calls their functions directly:
it is a convenience for self-checking, not the grading boundary. The verdicts come from the same
scorer as ``grader check`` (with the kit's precomputed expectations), so they agree with it.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from grader_worker import wire

from .checks.outcome import Call, Outcome, Survey, unsupported
from .report import QuestionResult

KIT_ENV = "GRADER_KIT"


class NamespaceSession:
    """Answers and functions from a Python namespace (the notebook's), as plain data."""

    def __init__(self, namespace: dict[str, Any]):
        self.namespace = namespace

    def get(self, name: str, keep: bool = False) -> Outcome:
        if name not in self.namespace:
            return Outcome(missing=True)
        return _plain(lambda: self.namespace[name])

    call_timeout = 0.0  # the student's own kernel: no limits here

    def survey(self, names: list[str], callables: list[str]) -> Survey:
        return Survey({name: self.get(name) for name in names}, {name: self.has(name) for name in callables})

    def call_many(self, calls: list[tuple[str, Call]], timeout: float | None = None) -> list[Outcome]:
        return [self._fresh(name, call) if call.fresh else self.call(name, call.args, call.kwargs) for name, call in calls]

    def _fresh(self, name: str, call: Call) -> Outcome:
        made = self.namespace.get(call.fresh.cls)
        if not callable(made):
            return Outcome(missing=True)
        fresh = copy.deepcopy(call.fresh)

        def run() -> Any:
            obj = made(*fresh.args, **fresh.kwargs)
            for attr, value in fresh.update.items():
                getattr(obj, attr).update(value)
            return getattr(obj, name)(*copy.deepcopy(call.args), **copy.deepcopy(call.kwargs))
        return _plain(run)

    def has(self, name: str, handle: int | None = None) -> bool:
        return handle is None and callable(self.namespace.get(name))

    def call(self, name: str, args: list, kwargs: dict | None = None, timeout: float | None = None, keep: bool = False,
             handle: int | None = None, budget: float | None = None) -> Outcome:
        if keep or handle is not None or budget is not None:
            return unsupported("an instance or training check")
        if name not in self.namespace:
            return Outcome(missing=True)
        args, kwargs = copy.deepcopy((list(args), kwargs or {}))  # (a function that changes its inputs changes only its copy)
        return _plain(lambda: self.namespace[name](*args, **kwargs))

    def update(self, handle: int, attr: str, value: Any, timeout: float | None = None) -> Outcome:
        return unsupported(f"setting {attr}")

    def seed(self, seed: int, threads: int = 1) -> Outcome:
        return unsupported("seeding")

    def import_problems(self) -> list[str]:
        return []


def _plain(produce) -> Outcome:
    try:
        return Outcome(value=wire.from_wire(wire.to_wire(produce())))
    except Exception as exc:  # noqa: BLE001 - the student's error, reported like the grader does
        return Outcome(error={"type": type(exc).__name__, "message": str(exc)[:500]})


def find_kit(start: Path | None = None) -> Path:
    """The kit named by $GRADER_KIT, or the nearest folder holding kit.json (here, a parent, or a child)."""
    from .kit import KIT_FILE

    if os.environ.get(KIT_ENV):
        return Path(os.environ[KIT_ENV])
    here = (start or Path.cwd()).resolve()
    for folder in [here, *here.parents]:
        if (folder / KIT_FILE).exists():
            return folder
        found = sorted(folder.glob(f"*/{KIT_FILE}"))
        if found:
            return found[0].parent
    raise FileNotFoundError(f"no student kit found from {here} (set ${KIT_ENV} to the kit folder)")


def check(question: str, kit: str | Path | None = None, namespace: dict[str, Any] | None = None) -> QuestionResult:
    """Run the public checks of one question against the calling notebook's variables and functions."""
    from .assignment import load_assignment
    from .checks.scorer import Scorer
    from .checks.work import StudentWork

    assignment = load_assignment(Path(kit) if kit else find_kit())
    rubric = assignment.rubric
    chosen = [q for q in rubric.questions if q.id == question]
    if not chosen:
        raise KeyError(f"no public question {question!r}; the kit has: {', '.join(q.id for q in rubric.questions)}")
    work = StudentWork(process=NamespaceSession(namespace if namespace is not None else _caller_namespace()))
    scorer = Scorer(rubric, assignment.functions)  # knows where every answer is defined...
    scorer.rubric = rubric.model_copy(update={"questions": chosen})  # ...but scores this question only
    result = scorer.score(work)[0]
    _show(result)
    return result


def _caller_namespace() -> dict[str, Any]:
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            return shell.user_ns
    except ImportError:
        pass
    import inspect

    return inspect.stack()[2].frame.f_globals


def _show(result: QuestionResult) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result.id}: {result.score:g} / {result.max_score:g}")
    for column in ("check", "result", "points", "details"):
        table.add_column(column, overflow="fold")
    for item in result.checks:
        details = "; ".join(x for x in (item.message, item.feedback) if x)
        table.add_row(item.id, item.status, f"{item.score:g}/{item.max_score:g}", details)
    Console().print(table)
