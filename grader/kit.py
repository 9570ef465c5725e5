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
from pathlib import Path
from typing import Any, Callable

import yaml

from grader_worker import wire

from .checks.scorer import Scorer
from .errors import KitError
from .references import load_reference
from .rubric import Rubric, answer_refs, check_expressions, load_rubric, public_only

KIT_FILE = "kit.json"
RUBRIC_FILE = "rubric.yaml"


def call_key(name: str, args: tuple, kwargs: dict) -> str:
    """A stable digest of a call's inputs (plain data, so the same inputs give the same key anywhere)."""
    encoded = json.dumps(wire.to_wire([name, list(args), dict(sorted(kwargs.items()))]), sort_keys=True)
    return hashlib.sha256(encoded.encode()).hexdigest()


class Recorder(dict):
    """Reference functions that remember every call and its result."""

    def __init__(self, functions: dict[str, Callable]):
        super().__init__({name: self._recording(name, fn) for name, fn in functions.items()})
        self.calls: dict[str, dict] = {}

    def _recording(self, name: str, function: Callable) -> Callable:
        def record(*args: Any, **kwargs: Any) -> Any:
            result = function(*args, **kwargs)
            self.calls[call_key(name, args, kwargs)] = {"call": name, "value": wire.to_wire(result)}
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
    """Public checks only, without any that depend on a hidden answer."""
    public = public_only(rubric)
    answers = public.answer_checks()
    questions = []
    for question in public.questions:
        checks = [c for c in question.checks
                  if all(ref in answers for expr in check_expressions(c) for ref in answer_refs(expr))]
        if checks:
            questions.append(question.model_copy(update={"checks": checks}))
    given = {**public.given, **public.kit_given}  # the public sample in place of the data graded on
    return public.model_copy(update={"questions": questions, "reference": None, "given": given, "kit_given": {}})


def bundle(rubric_path: Path, out: Path) -> Path:
    """Write a student kit for ``rubric_path`` into ``out``."""
    rubric = load_rubric(rubric_path)
    public = public_rubric(rubric)
    recorder = Recorder(load_reference(rubric, str(rubric_path)))
    Scorer(public, recorder).precompute()
    out.mkdir(parents=True, exist_ok=True)
    data = public.model_dump(mode="json", exclude_defaults=True, exclude={"reference"}, warnings=False)
    (out / RUBRIC_FILE).write_text(f"# Student kit for {public.id}: public checks only.\n" + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    (out / KIT_FILE).write_text(json.dumps({"rubric": public.id, "calls": recorder.calls}, indent=1), encoding="utf-8")
    if rubric.sheet:
        sheet = Path(rubric_path).parent / rubric.sheet
        if sheet.exists():
            shutil.copy(sheet, out / "ASSIGNMENT.md")
    (out / "README.md").write_text(
        f"# Student kit: {public.title}\n\nCheck your work against the public checks before you hand it in:\n\n"
        f"    grader check {out.name} my_submission\n\nor, inside your notebook:\n\n"
        f"    from grader import check\n    check(\"{public.questions[0].id}\")\n\n"
        "Hidden checks run only when your work is graded. Answers that are wrong but consistent with your "
        "own earlier answers may still earn credit then.\n", encoding="utf-8")
    return out


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
