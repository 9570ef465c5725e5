"""Example-submission manifests (the scores examples must get) and TA overrides for manual questions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .api import grade_class
from .assignment import Assignment
from .checks.scorer import Scorer
from .errors import ManifestError
from .report import Report
from .submissions.classes import find_submissions


class Example(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    score: float | None = Field(None, description="Expected total score (None for not-gradable).")
    status: str = "graded"
    questions: dict[str, float] = Field(default_factory=dict, description="Expected per-question scores.")
    description: str = ""
    overrides: dict[str, Any] = Field(default_factory=dict, description="TA points for manual questions.")


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rubric: str
    examples: list[Example]


@dataclass
class ExampleResult:
    name: str
    expected: str
    got: str
    ok: bool
    problem: str = ""
    report: Report | None = None


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: not valid YAML: {exc}") from None


def load_manifest(path: Path) -> Manifest:
    try:
        return Manifest.model_validate(_read_yaml(path))
    except ValidationError as exc:
        problems = [f"{path}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise ManifestError("\n".join(problems)) from None


def load_overrides(path: Path) -> dict[str, dict[str, Any]]:
    """``{submission: {check or question id: points | {points, comment}}}``."""
    data = _read_yaml(path) or {}
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: expected a mapping of submission names to {{question: points}}")
    result: dict[str, dict[str, Any]] = {}
    for name, entries in data.items():
        if not isinstance(entries, dict):
            raise ManifestError(f"{path}: {name}: expected a mapping of question ids to points")
        result[str(name)] = {}
        for key, value in entries.items():
            if isinstance(value, dict) and isinstance(value.get("points"), (int, float)):
                result[str(name)][str(key)] = (float(value["points"]), str(value.get("comment", "")))
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                result[str(name)][str(key)] = float(value)
            else:
                raise ManifestError(f"{path}: {name}.{key}: expected points (a number) or {{points: N, comment: text}}, got {value!r}")
    return result


def validate_examples(assignment: Assignment, folder: Path, manifest: Manifest, jobs: int = 1) -> list[ExampleResult]:
    """Compute every expected value, then grade every example and compare with the manifest."""
    Scorer(assignment.rubric, assignment.functions).precompute()
    if manifest.rubric != assignment.rubric.id:
        raise ManifestError(f"{folder / 'manifest.yaml'}: rubric is {manifest.rubric!r}, expected {assignment.rubric.id!r}")
    listed = {e.path.rstrip("/") for e in manifest.examples}
    found = find_submissions([folder], class_folders=True)
    results = [ExampleResult(e.path.name, "listed in manifest", "missing", False, "not in manifest.yaml")
               for e in found.entries if e.path.name not in listed]
    paths = [folder / e.path for e in manifest.examples]
    for example, path in zip(manifest.examples, paths):
        if not path.exists():
            results.append(ExampleResult(example.path, "exists", "missing", False, f"{path} does not exist"))
    present = [(e, p) for e, p in zip(manifest.examples, paths) if p.exists()]
    manual = {p.name: _manual(e.overrides) for e, p in present}
    reports = grade_class([p for _, p in present], assignment, jobs=jobs, overrides=manual, class_folders=False).reports
    for (example, _), report in zip(present, reports):
        problems = []
        if report.status != example.status:
            problems.append(f"status {report.status} ({report.reason})")
        if example.score is not None and abs(report.score - example.score) > 1e-6:
            problems.append(f"score {report.score:g} != {example.score:g}")
        for qid, points in example.questions.items():
            got = next((q.score for q in report.questions if q.id == qid), None)
            if got is None or abs(got - points) > 1e-6:
                problems.append(f"{qid}: {got} != {points:g}")
        if problems:
            failing = [f"{c.id}: {c.status} {c.message}" for q in report.questions for c in q.checks if c.status != "passed"]
            problems.append("checks not passed: " + "; ".join(failing)[:600])
        expected = f"{example.score:g}" if example.score is not None else example.status
        got = f"{report.score:g}" if report.status == "graded" else report.status
        results.append(ExampleResult(example.path, expected, got, not problems, "; ".join(problems), report))
    return results


def _manual(entries: dict[str, Any]) -> dict[str, Any]:
    return {k: (float(v["points"]), str(v.get("comment", ""))) if isinstance(v, dict) else float(v) for k, v in entries.items()}
