"""Every bundled example submission gets exactly the score its manifest says."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import load_assignment
from grader.manifest import load_manifest, validate_examples

ROOT = Path(__file__).resolve().parent.parent
# the hostile suite runs in tests/test_hostile.py, with small time limits and deadlines
MANIFESTS = sorted(p for p in (ROOT / "submissions").glob("*/manifest.yaml") if p.parent.name != "hostile")


@pytest.mark.parametrize("manifest_path", MANIFESTS, ids=lambda p: p.parent.name)
def test_examples_score_as_their_manifest_says(manifest_path: Path) -> None:
    manifest = load_manifest(manifest_path)
    assignment = load_assignment(ROOT / "rubrics" / f"{manifest.rubric}.yaml")
    results = validate_examples(assignment, manifest_path.parent, manifest, jobs=2)
    failures = [f"{r.name}: expected {r.expected}, got {r.got}: {r.problem}" for r in results if not r.ok]
    assert not failures, "\n".join(failures)
    assert len(results) == len(manifest.examples)
