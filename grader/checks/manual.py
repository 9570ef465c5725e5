"""Manual checks: points a TA enters for free-text answers (``grader grade --overrides``)."""

from __future__ import annotations

from typing import Any, Mapping

from ..report import CheckResult
from ..rubric import ManualCheck
from .results import base_result


def score_manual(check: ManualCheck, question_id: str, manual: Mapping[str, Any]) -> CheckResult:
    """The TA's points for the check (by check id, else question id), or "pending" while there are none."""
    base = base_result(check)
    entry = manual.get(check.id, manual.get(question_id))
    if entry is None:
        return base.model_copy(update=dict(status="pending", message="awaiting a TA's grading"))
    points, comment = entry if isinstance(entry, tuple) else (entry, "")
    points = max(0.0, min(float(points), check.points))
    return base.model_copy(update=dict(status="passed" if points >= check.points else "failed", score=points,
                                       message=f"graded by a TA{': ' + comment if comment else ''}"))
