"""Convention groups: an accepted alternative convention counts only where the student uses it throughout.

A loss and its gradients may follow either of two accepted conventions (reg * sum(W^2) or
0.5 * reg * sum(W^2)), but a student must follow one: a gradient of the other convention does not
match the student's own loss. The first check of a ``convention_group`` (the loss) decides which
convention the student uses; every later check of the group keeps only the credit it earned in that
convention, and its feedback says when something was graded against it.
"""

from __future__ import annotations

from typing import Any

from ..report import CheckResult
from .results import STANDARD


def apply_groups(checks: list[tuple[Any, CheckResult]]) -> dict[int, CheckResult]:
    """For each (check, result) of the rubric in order, the results changed by their group, by ``id(check)``."""
    groups: dict[str, list[tuple[Any, CheckResult]]] = {}
    for check, result in checks:
        if getattr(check, "convention_group", None):
            groups.setdefault(check.convention_group, []).append((check, result))
    changed: dict[int, CheckResult] = {}
    for members in groups.values():
        (first_check, first), rest = members[0], members[1:]
        own = _convention_of(first)
        if own is None:  # the first check says nothing of a convention (it failed): nothing to hold the others to
            continue
        for check, result in rest:
            other = {name: credit for name, credit in (result.convention_credit or {}).items() if name not in ("", own) and credit > 0}
            if not other:
                continue
            score = round(result.score - sum(other.values()), 9)
            used, expected = ", ".join(_name(check, name) for name in other), _name(first_check, own)
            why = f"this follows the {used}, but your {first_check.id} uses the {expected}: graded against the {expected}"
            changed[id(check)] = result.model_copy(update=dict(
                score=score, status="passed" if score >= result.max_score - 1e-9 else "failed", note=None,
                message=f"{result.message}; {why}" if result.visibility == "public" else f"{result.message.split(';')[0]}; {why}"))
    return changed


def _convention_of(result: CheckResult) -> str | None:
    credits = {name: credit for name, credit in (result.convention_credit or {}).items() if name and credit > 0}
    return max(credits, key=credits.get) if credits else None


def _name(check: Any, convention: str) -> str:
    if convention == STANDARD:
        return check.convention or "the right answer's convention"
    return convention.removesuffix(" (accepted)")
