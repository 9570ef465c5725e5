"""``report.json``: the Report as it is, for machines."""

from __future__ import annotations

from pathlib import Path

from ..report import Report


def write_json(report: Report, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    return path
