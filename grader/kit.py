"""Student kits: the public checks with their expected values precomputed, and nothing else.

``bundle`` writes the public part of a rubric (hidden checks removed), the assignment sheet, and a
table of every reference call the public checks make, with its result. No reference code, no hidden
case, no hidden expectation. In the kit, the reference functions are replaced by that table
(``RecordedReference``): a call with the recorded inputs returns the recorded output; any other call
(follow-through from a student's own wrong earlier answer, which needs the real reference) raises,
so that credit is decided when the instructor grades.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml

from grader_worker import wire

from .checks.scorer import Scorer
from .errors import KitError
from .references import load_reference
from .rubric import FunctionCheck, Rubric, ValueCheck, answer_refs, check_expressions, load_rubric, public_only

KIT_FILE = "kit.json"
RUBRIC_FILE = "rubric.yaml"
KIT_LIMIT = 64 * wire.MAX_ARRAY_BYTES  # (the grader's own data: not a student's reply)


def call_key(name: str, args: tuple, kwargs: dict) -> str:
    """A stable digest of a call's inputs (plain data, so the same inputs give the same key anywhere)."""
    encoded = json.dumps(wire.to_wire([name, list(args), dict(sorted(kwargs.items()))], limit=KIT_LIMIT), sort_keys=True)
    return hashlib.sha256(encoded.encode()).hexdigest()


class Recorder(dict):
    """Reference functions that remember every call and its result."""

    def __init__(self, functions: dict[str, Callable]):
        super().__init__({name: self._recording(name, fn) for name, fn in functions.items()})
        self.calls: dict[str, dict] = {}
        self.results: list[tuple[str, Any]] = []

    def _recording(self, name: str, function: Callable) -> Callable:
        def record(*args: Any, **kwargs: Any) -> Any:
            result = function(*args, **kwargs)
            self.calls[call_key(name, args, kwargs)] = {"call": name, "value": wire.to_wire(result, limit=KIT_LIMIT)}
            self.results.append((name, result))
            return result

        return record


class RecordedReference(dict):
    """Stands in for the reference module in a kit: recorded calls only."""

    def __init__(self, calls: dict[str, dict]):
        names = {entry["call"] for entry in calls.values()}
        super().__init__({name: self._replay(name) for name in names})
        self.calls = calls

    def _replay(self, name: str) -> Callable:
        def replay(*args: Any, **kwargs: Any) -> Any:
            entry = self.calls.get(call_key(name, args, kwargs))
            if entry is None:
                raise LookupError(f"{name}() on these inputs is not in the student kit (decided when graded)")
            return wire.from_wire(entry["value"])

        return replay


def public_rubric(rubric: Rubric) -> Rubric:
    """The kit's rubric: public checks not marked ``kit: hide``, without any that depend on an answer
    the kit does not check (a hidden one, or one kept out)."""
    public = public_only(rubric)
    kept = [q.model_copy(update={"checks": [c for c in q.checks if c.kit != "hide"]}) for q in public.questions]
    public = public.model_copy(update={"questions": [q for q in kept if q.checks]})
    while True:  # until no check is left that uses an answer no remaining check answers (chains: @y_hat -> @loss)
        answers = public.answer_checks()
        questions = []
        for question in public.questions:
            checks = [c for c in question.checks
                      if all(ref in answers for expr in check_expressions(c) for ref in answer_refs(expr))]
            if checks:
                questions.append(question.model_copy(update={"checks": checks}))
        if sum(len(q.checks) for q in questions) == len(public.checks()):
            given = {**public.given, **public.kit_given}  # the public sample in place of the data graded on
            return public.model_copy(update={"reference": None, "given": given, "kit_given": {}})
        public = public.model_copy(update={"questions": questions})


@dataclass
class Reveal:
    """What the kit gives away about one of its checks."""

    check: str
    kind: str
    what: str


@dataclass
class Kit:
    """A written kit and what it reveals: the instructor reads this before handing the kit out."""

    path: Path
    reveals: list[Reveal] = field(default_factory=list)
    kept_out: list[str] = field(default_factory=list)  # public checks marked kit: hide
    dropped: list[str] = field(default_factory=list)  # public checks left out: they use a kept-out answer
    leaks: list[str] = field(default_factory=list)  # kept-out answers whose value is still in the kit


def bundle(rubric_path: Path, out: Path) -> Kit:
    """Write a student kit for ``rubric_path`` into ``out``; say what it reveals."""
    rubric = load_rubric(rubric_path)
    public = public_rubric(rubric)
    functions = load_reference(rubric, str(rubric_path))
    recorder = Recorder(functions)
    Scorer(public, recorder).precompute()
    out.mkdir(parents=True, exist_ok=True)
    data = public.model_dump(mode="json", exclude_defaults=True, exclude={"reference"}, warnings=False)
    (out / RUBRIC_FILE).write_text(f"# Student kit for {public.id}: public checks only.\n" + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    (out / KIT_FILE).write_text(json.dumps({"rubric": public.id, "calls": recorder.calls}, indent=1), encoding="utf-8")
    if rubric.sheet:
        sheet = Path(rubric_path).parent / rubric.sheet
        if sheet.exists():
            shutil.copy(sheet, out / "ASSIGNMENT.md")
    kit = describe(rubric, public, functions, recorder, out)
    later = kit.kept_out + kit.dropped
    (out / "README.md").write_text(
        f"# Student kit: {public.title}\n\nCheck your work against the public checks before you hand it in:\n\n"
        f"    grader check {out.name} my_submission\n\nor, inside your notebook:\n\n"
        f"    from grader import check\n    check(\"{public.questions[0].id}\")\n\n"
        "Hidden checks run only when your work is graded. Answers that are wrong but consistent with your "
        "own earlier answers may still earn credit then.\n"
        + (f"\nThese public checks are not in the kit and are checked only when graded: {', '.join(later)}.\n" if later else ""),
        encoding="utf-8")
    return kit


def describe(rubric: Rubric, public: Rubric, functions: dict, recorder: Recorder, out: Path) -> Kit:
    """What the kit gives away: every public check's expectation is in kit.json, by design (a value
    check's is the answer itself); and whether a kept-out answer is still there through another call."""
    in_kit = {c.id for c in public.checks()}
    kit = Kit(out)
    for check in public.checks():
        if isinstance(check, ValueCheck):
            kit.reveals.append(Reveal(check.id, "value", f"the answer to {check.answer or _question_of(public, check.id)} (expected value)"))
        elif isinstance(check, FunctionCheck):
            count = len(check.cases) + (check.random_cases.count if check.random_cases else 0)
            kit.reveals.append(Reveal(check.id, "function", f"reference outputs on {count} public case{'s' if count > 1 else ''}"))
    for check in rubric.checks():
        if check.visibility == "public" and check.id not in in_kit:
            (kit.kept_out if check.kit == "hide" else kit.dropped).append(check.id)
    truth = Scorer(rubric, functions)
    for check in rubric.checks():
        if isinstance(check, ValueCheck) and check.kit == "hide":
            expected = truth.true_answer(check.answer or _question_of(rubric, check.id))
            where = sorted({name for name, value in recorder.results if _contains(value, expected)})
            if where:
                kit.leaks.append(f"{check.id}: its expected value is still in the kit, as a result of {', '.join(where)} "
                                 "(another public check calls it on the same inputs)")
    return kit


def _question_of(rubric: Rubric, check_id: str) -> str:
    return next(q.id for q in rubric.questions if any(c.id == check_id for c in q.checks))


def _contains(value: Any, target: Any) -> bool:
    """Whether ``target`` can be read off ``value`` (equal to it, or to a part of a tuple, list or dict)."""
    if isinstance(value, dict):
        return any(_contains(v, target) for v in value.values())
    if isinstance(value, (tuple, list)) and any(_contains(v, target) for v in value):
        return True
    try:
        a, b = np.asarray(value, dtype=float), np.asarray(target, dtype=float)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=0))


def is_kit(path: Path) -> bool:
    return Path(path).is_dir() and (Path(path) / KIT_FILE).exists()


def load_kit(path: Path) -> tuple[Rubric, RecordedReference]:
    path = Path(path)
    try:
        data = json.loads((path / KIT_FILE).read_text(encoding="utf-8"))
        calls = data["calls"]
    except (OSError, ValueError, KeyError) as exc:
        raise KitError(f"{path / KIT_FILE}: not a readable student kit: {exc}") from None
    return load_rubric(path / RUBRIC_FILE), RecordedReference(calls)
