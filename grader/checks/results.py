"""Building check results: what every check kind shares, and what a report may show of a value.

Hidden checks never carry expected values, inputs or the student's outputs: ``public`` and
``errors`` add them for public checks only. ``shown`` copies a value into a report only up to
``MAX_SHOWN`` elements, so a student's huge answer is never copied whole.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..report import CheckResult
from .compare import PROBLEMS, Comparison
from .outcome import Outcome

# What a hidden check may say: a fixed vocabulary, never a name, message or value of the student's.
HIDDEN_FAILURE = "does not match on the hidden inputs"
UNUSABLE = "the result could not be used"
HIDDEN_ERRORS = {"Timeout": "timed out", "BudgetExceeded": "timed out", "KernelDied": "the kernel died",
                 "Unreadable": "the answer could not be read"}
RAISED = "raised an exception"
STANDARD = "standard"  # the convention of the right answer itself, in a check's convention_credit


def hidden_failure(result: Comparison) -> str:
    """A failed comparison as a hidden check may report it: what kind of problem, nothing else."""
    return f"{HIDDEN_FAILURE} ({PROBLEMS[result.problem]})" if result.problem in PROBLEMS else HIDDEN_FAILURE


def base_result(check: Any) -> CheckResult:
    """A failed, zero-point result for ``check``, with its tolerance and threshold filled in."""
    tolerance = getattr(check, "tolerance", None) if getattr(check, "metric", "allclose") == "allclose" else None
    return CheckResult(id=check.id, kind=check.kind, visibility=check.visibility, status="failed", score=0.0,
                       max_score=check.points, rtol=tolerance.rtol if tolerance else None, atol=tolerance.atol if tolerance else None,
                       threshold=getattr(check, "threshold", None))


def public(base: CheckResult, shown: dict) -> dict:
    return shown if base.visibility == "public" else {}


def errors(base: CheckResult, result: Comparison) -> dict:
    if base.visibility != "public":
        return {}
    return dict(max_abs_error=result.max_abs_error, max_rel_error=result.max_rel_error, rel_error=result.rel_error)


def passed(base: CheckResult, result: Comparison, feedback: str | None, shown: dict, note: str | None = None) -> CheckResult:
    message = "correct" + (f" ({note})" if note else "")
    return base.model_copy(update=dict(status="passed", score=base.max_score, message=message, feedback=feedback, note=note,
                                       **errors(base, result), **public(base, shown)))


def failed(base: CheckResult, result: Comparison, feedback: str | None, shown: dict) -> CheckResult:
    message = result.message if base.visibility == "public" else hidden_failure(result)
    return base.model_copy(update=dict(status="failed", message=message, feedback=feedback,
                                       **errors(base, result), **public(base, shown)))


def with_mistake(base: CheckResult, result: Comparison, mistake: str) -> str:
    return f"{result.message if base.visibility == 'public' else hidden_failure(result)}. {mistake}"


def unanswered(base: CheckResult, outcome: Outcome, what: str, feedback: str | None) -> CheckResult:
    if outcome.missing:
        return base.model_copy(update=dict(status="failed", message=f"no {what} found", feedback=feedback))
    return base.model_copy(update=dict(status="error", message=error_text(outcome.error, base.visibility), feedback=feedback))


def error_text(error: dict, visibility: str) -> str:
    """Why a request to the student's process failed; for a hidden check, from HIDDEN_ERRORS alone."""
    kind = error.get("type", "Error")
    if visibility == "hidden":
        return HIDDEN_ERRORS.get(kind, RAISED)
    if kind == "Unreadable":
        return error.get("message", "")
    if kind == "Timeout":
        return "did not finish within the time limit"
    if kind == "KernelDied":
        return "the kernel died: " + error.get("message", "")
    where = error.get("where") or {}
    line = f" ({where.get('file')}, line {where.get('line')}: {where.get('code')})" if where.get("line") else ""
    return f"raised {kind}: {error.get('message', '')}{line}"


def plain(value: Any) -> Any:
    """A value as JSON-friendly data for the report."""
    if isinstance(value, np.ndarray):
        return plain(value.tolist()) if value.dtype.kind in "fc" and not np.all(np.isfinite(value)) or value.dtype.kind == "c" \
            else value.tolist()
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, complex):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


MAX_SHOWN = 10_000  # elements of a value copied into a report; a larger one is shown as an excerpt


def shown(value: Any) -> Any:
    """A value for the report: in full (``plain``) up to MAX_SHOWN elements, else a short excerpt, so a
    student's huge answer is never copied into the report."""
    return plain(value) if _elements(value, MAX_SHOWN) <= MAX_SHOWN else f"{short(value)} (too large to show in full)"


def _elements(value: Any, limit: int) -> int:
    """How many elements a value holds, counting stopped just past ``limit``."""
    count, stack = 0, [value]
    while stack and count <= limit:
        item = stack.pop()
        if isinstance(item, np.ndarray):
            count += item.size
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        count += 1
    return count


def short(value: Any) -> str:
    if isinstance(value, (str, dict)):
        text = repr(value)
    else:
        try:
            text = " ".join(np.array2string(np.asarray(value), precision=4, separator=", ", threshold=12).split())
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
