"""``overview.html``: one self-contained page per class for the instructor.

Score histogram and per-question pass rates (inline SVG, drawn by the template), the most
frequent detected mistakes, the most often failed checks, the slowest submissions and the ones that
could not be graded, with their reasons. No scripts, nothing fetched.
"""

from __future__ import annotations

import bisect
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from ..report import Report
from ..rubric import Rubric
from .html import environment

TOP = 10


@dataclass
class QuestionStats:
    id: str
    title: str
    points: float
    graded: int = 0
    passed: int = 0
    pending: int = 0
    mean: float = 0.0

    @property
    def pass_rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


@dataclass
class Tally:
    """A detected mistake or a failed check: how often, where, and who."""

    name: str
    count: int = 0
    checks: set[str] = field(default_factory=set)
    students: list[str] = field(default_factory=list)
    example: str = ""


def class_stats(reports: list[Report], rubric: Rubric) -> dict:
    graded = [r for r in reports if r.status == "graded"]
    scores = [r.score for r in graded]
    questions = []
    for q in rubric.questions:
        stats = QuestionStats(q.id, q.title or "", q.max_points)
        results = [next((x for x in r.questions if x.id == q.id), None) for r in graded]
        results = [x for x in results if x is not None]
        stats.graded = len(results)
        stats.passed = sum(x.status == "passed" for x in results)
        stats.pending = sum(x.status == "pending" for x in results)
        stats.mean = statistics.fmean(x.score for x in results) if results else 0.0
        questions.append(stats)
    mistakes: dict[str, Tally] = {}
    failures: dict[str, Tally] = {}
    for report in graded:
        for question in report.questions:
            for check in question.checks:
                if check.mistake:
                    _tally(mistakes, check.mistake, check.id, report.submission, check.message)
                if check.status in ("failed", "error"):
                    _tally(failures, check.id, check.id, report.submission, check.mistake or check.message)
    return {
        "count": len(reports),
        "graded": len(graded),
        "not_gradable": [r for r in reports if r.status != "graded"],
        "mean": statistics.fmean(scores) if scores else None,
        "median": statistics.median(scores) if scores else None,
        "full_marks": sum(abs(r.score - r.max_score) < 1e-9 for r in graded),
        "questions": questions,
        "mistakes": _top(mistakes),
        "failures": _top(failures),
        "slowest": sorted(reports, key=lambda r: r.seconds, reverse=True)[:TOP],
        "total_seconds": sum(r.seconds for r in reports),
    }


def _tally(table: dict[str, Tally], key: str, check_id: str, student: str, example: str) -> None:
    entry = table.setdefault(key, Tally(key))
    entry.count += 1
    entry.checks.add(check_id)
    if student not in entry.students:
        entry.students.append(student)
    entry.example = entry.example or example


def _top(table: dict[str, Tally]) -> list[Tally]:
    return sorted(table.values(), key=lambda t: (-t.count, t.name))[:TOP]


@dataclass
class Bar:
    """One bar of a chart, in the chart's own units (the template scales them to pixels)."""

    label: str
    value: float
    start: float = 0.0  # where the bar begins on the category axis (a histogram's left bin edge)
    width: float = 1.0


@dataclass
class Chart:
    """What the overview draws as inline SVG: bars over an axis from ``low`` to ``high`` (values up to ``top``),
    with tick labels; no plotting library (matplotlib took a second of every class's run for two charts)."""

    bars: list[Bar]
    low: float
    high: float
    top: float
    ticks: list[float]
    value_ticks: list[int]
    mean: float | None = None


def histogram_chart(scores: list[float], max_score: float) -> Chart:
    """The graded totals as a histogram: one bin per point up to 40 points (whole-point maxima), else 20 bins."""
    if max_score <= 40 and max_score == int(max_score):
        edges = [k - 0.5 for k in range(int(max_score) + 2)]
        ticks = [float(k) for k in range(0, int(max_score) + 1, 1 if max_score <= 16 else 2)]
    else:
        edges = [max_score * k / 20 for k in range(21)]
        ticks = [max_score * k / 4 for k in range(5)]
    counts = [0] * (len(edges) - 1)
    for score in scores:
        counts[_bin(score, edges)] += 1
    bars = [Bar(f"{count} with {low:g} to {high:g}", count, low, high - low) for low, high, count in zip(edges, edges[1:], counts)]
    top = max(1, max(counts, default=0))
    return Chart(bars, edges[0], edges[-1], top, ticks, _count_ticks(top), statistics.fmean(scores) if scores else None)


def pass_rate_chart(questions: list[QuestionStats]) -> Chart:
    """Per question, the share of graded submissions with every check passed, in percent."""
    bars = [Bar(q.id, 100 * q.pass_rate) for q in questions]
    return Chart(bars, 0.0, 100.0, 100.0, [0.0, 25.0, 50.0, 75.0, 100.0], [])


def _bin(score: float, edges: list[float]) -> int:
    """The bin of ``score``: bins hold their left edge; the last one its right edge too (numpy's rule)."""
    index = bisect.bisect_right(edges, score) - 1
    return min(max(index, 0), len(edges) - 2)


def _count_ticks(top: int) -> list[int]:
    step = max(1, math.ceil(top / 5))
    return list(range(0, top + 1, step))


def render_overview(reports: list[Report], rubric: Rubric, folder: Path | None = None, skipped=(), roster=None,
                    similarity=None) -> str:
    """The class overview; ``skipped``: entries of the class that were not graded, listed with the reason;
    ``roster``: the class roster, whose strays (submissions no roster student handed in) are listed;
    ``similarity``: similar pairs (``grader.similarity``), shown side by side (student code, escaped)."""
    stats = class_stats(reports, rubric)
    _rows, off_roster, no_submission = roster.match(reports) if roster is not None else ({}, [], [])
    scores = [r.score for r in reports if r.status == "graded"]
    # A link is a relative path to a report folder, each part percent-encoded: a name never becomes a URL of its own.
    links = {r.submission: f"./{quote(r.submission, safe='')}/feedback.html" for r in reports
             if folder is not None and (folder / r.submission / "feedback.html").is_file()}
    return environment().get_template("overview.html").render(
        rubric=rubric, reports=sorted(reports, key=lambda r: r.submission), stats=stats, links=links,
        skipped=list(skipped), late=any(r.late is not None for r in reports),
        roster=roster, off_roster=off_roster, no_submission=no_submission, similarity=similarity,
        shown_pairs=[p for p in similarity or [] if p.excerpt_a],
        max_points=rubric.max_points,
        histogram=histogram_chart(scores, rubric.max_points) if scores else None,
        pass_rates=pass_rate_chart(stats["questions"]) if scores and stats["questions"] else None,
        isfinite=math.isfinite)


def write_overview(reports: list[Report], rubric: Rubric, path: Path, skipped=(), roster=None, similarity=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_overview(reports, rubric, path.parent, skipped, roster, similarity), encoding="utf-8")
    return path
