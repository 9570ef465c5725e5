"""``gradebook.csv``: one row per submission, one column per question.

A submission that could not be graded has empty score cells (never a zero) and is listed with its
reason in the batch summary and its report.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..report import Report
from ..rubric import Rubric


def write_gradebook(reports: list[Report], rubric: Rubric, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = [q.id for q in rubric.questions]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["submission", "total", "max_total", *ids])
        for report in reports:
            if report.status != "graded":
                writer.writerow([report.submission, "", _num(report.max_score), *["" for _ in ids]])
                continue
            scores = {q.id: q.score for q in report.questions}
            writer.writerow([report.submission, _num(report.score), _num(report.max_score), *[_num(scores.get(i, 0.0)) for i in ids]])
    return path


def _num(value: float) -> str:
    return f"{value:g}"
