"""``feedback.html``: one self-contained page per student (inline CSS, no scripts, nothing fetched).

The page renders the Report as it is: hidden checks show their status, points and message, never a
value; expected and actual values appear for public checks only.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ..version import __version__
from ..report import CheckResult, Report

STATUS_LABEL = {"passed": "passed", "failed": "failed", "error": "error", "not-gradable": "not gradable", "pending": "pending"}
STATUS_ICON = {"passed": "\u2713", "failed": "\u2717", "error": "!", "not-gradable": "\u26a0", "pending": "\u2026"}


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja environment over ``grader/templates`` (shared with the class overview)."""
    env = Environment(loader=PackageLoader("grader", "templates"), autoescape=select_autoescape(["html", "htm", "j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["num"] = number
    env.filters["value"] = show_value
    env.filters["pct"] = percent
    env.globals.update(status_label=STATUS_LABEL, status_icon=STATUS_ICON, grader_version=__version__)
    return env


def number(value: float | None, digits: int = 6) -> str:
    """A score or measure, short: ``11``, ``1.5``, ``0.0714``."""
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def percent(part: float, whole: float) -> int:
    return round(100 * part / whole) if whole else 0


def show_value(value: Any, limit: int = 240) -> str:
    """A student's or expected value as compact JSON, floats to 6 significant digits, cut at ``limit``."""
    text = json.dumps(_rounded(value), ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _rounded(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return str(value)


def shows_values(check: CheckResult) -> bool:
    """Expected and actual values are shown for public, machine-graded checks only."""
    return check.visibility == "public" and check.kind != "manual" and (check.expected is not None or check.got is not None)


def render_html(report: Report) -> str:
    checks = [c for q in report.questions for c in q.checks]
    counts = {status: sum(c.status == status for c in checks) for status in STATUS_LABEL}
    return environment().get_template("feedback.html").render(
        report=report, counts=counts, checks=len(checks), shows_values=shows_values,
        score_class=_score_class(report))


def _score_class(report: Report) -> str:
    if report.status != "graded":
        return "not-gradable"
    share = report.score / report.max_score if report.max_score else 0
    return "good" if share >= 0.8 else "fair" if share >= 0.5 else "poor"


def write_html(report: Report, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path
