"""``gradebook.csv``: one row per submission, one column per question.

A submission that could not be graded has empty score cells (never a zero) and is listed with its
reason in the batch summary and its report.

With a late policy (``grader grade --late-policy ... --timestamps ...``) three columns follow the
questions: ``raw`` (the total before the penalty, equal to ``total``), ``penalty`` (points off) and
``final`` (raw - penalty). The first columns keep their meaning, so ``total`` stays the raw total.
"""

from __future__ import annotations

import csv
from pathlib import Path
from ..report import Report
from ..rubric import Rubric

LATE_COLUMNS = ("raw", "penalty", "final")


def write_gradebook(reports: list[Report], rubric: Rubric, path: Path, skipped=(), roster=None, similarity=None) -> Path:
    """The gradebook; the late columns appear when a late policy was applied (any report has ``late``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = [q.id for q in rubric.questions]
    late = any(report.late is not None for report in reports)
    extra = list(LATE_COLUMNS) if late else []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["submission", "total", "max_total", *ids, *extra])
        for report in reports:
            if report.status != "graded":
                writer.writerow([report.submission, "", _num(report.max_score), *["" for _ in ids], *["" for _ in extra]])
                continue
            scores = {q.id: q.score for q in report.questions}
            row = [report.submission, _num(report.score), _num(report.max_score), *[_num(scores.get(i, 0.0)) for i in ids]]
            if late:
                penalty = report.late.penalty if report.late is not None else 0.0
                row += [_num(report.score), _num(penalty), _num(report.final_score)]
            writer.writerow(row)
    return path


def _num(value: float) -> str:
    return f"{value:g}"
