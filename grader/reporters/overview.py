"""``overview.html``: one self-contained page per class for the instructor.

Score histogram and per-question pass rates (matplotlib, Agg, embedded as base64 PNG), the most
frequent detected mistakes, the most often failed checks, the slowest submissions and the ones that
could not be graded, with their reasons. No scripts, nothing fetched.
"""

from __future__ import annotations

import base64
import io
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from ..report import Report
from ..rubric import Rubric
from .html import environment

TOP = 10
COLORS = {"bar": "#2563eb", "pass": "#15803d", "mean": "#b91c1c", "grid": "#d9e2ec"}


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


def histogram_png(scores: list[float], max_score: float) -> str:
    """A histogram of the graded totals, as a base64 PNG."""
    fig, ax = _figure(5.2, 3.6, grid="y")
    if max_score <= 40 and max_score == int(max_score):
        edges = [k - 0.5 for k in range(int(max_score) + 2)]
        ax.set_xticks(range(0, int(max_score) + 1, 1 if max_score <= 16 else 2))
    else:
        edges = [max_score * k / 20 for k in range(21)]
    counts, _, _ = ax.hist(scores, bins=edges, color=COLORS["bar"], edgecolor="white", linewidth=0.8)
    if scores:
        mean = statistics.fmean(scores)
        ax.axvline(mean, color=COLORS["mean"], linestyle="--", linewidth=1.5, label=f"mean {mean:.3g}")
        ax.legend(frameon=False, loc="upper left", fontsize=10)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0, max(1, max(counts, default=0)) * 1.15)
    ax.set_xlabel(f"total score (out of {max_score:g})", fontsize=11)
    ax.set_ylabel("submissions", fontsize=11)
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _png(fig)


def pass_rate_png(questions: list[QuestionStats]) -> str:
    """Per-question pass rates (share of graded submissions with every check passed), as a base64 PNG."""
    fig, ax = _figure(5.2, max(2.6, 0.3 * len(questions) + 1.0), grid="x")
    names = [q.id for q in questions][::-1]
    rates = [100 * q.pass_rate for q in questions][::-1]
    bars = ax.barh(names, rates, color=COLORS["pass"], height=0.7)
    for bar, rate in zip(bars, rates):
        inside = rate > 80
        ax.text(rate - 2 if inside else rate + 2, bar.get_y() + bar.get_height() / 2, f"{rate:.0f}%", va="center",
                ha="right" if inside else "left", fontsize=9, color="white" if inside else "#1f2933")
    ax.set_xlim(0, 100)
    ax.set_xlabel("passed (% of graded submissions)", fontsize=11)
    return _png(fig)


def _figure(width: float, height: float, grid: str):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.grid(axis=grid, color=COLORS["grid"], linewidth=0.8)
    ax.tick_params(labelsize=10)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


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
        histogram=histogram_png(scores, rubric.max_points) if scores else None,
        pass_rates=pass_rate_png(stats["questions"]) if scores and stats["questions"] else None,
        isfinite=math.isfinite)


def write_overview(reports: list[Report], rubric: Rubric, path: Path, skipped=(), roster=None, similarity=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_overview(reports, rubric, path.parent, skipped, roster, similarity), encoding="utf-8")
    return path
