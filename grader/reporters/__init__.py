"""Renderers of Reports. Each format is registered here once; ``grader grade --format`` picks them.

``SUBMISSION_FORMATS``: one file per student, ``name -> (file name, writer(report, path))``.
``CLASS_FORMATS``: one file per class, ``name -> (file name, writer(reports, rubric, path, skipped=..., roster=...))``
(``skipped``: the entries of the class that were not graded, and why; ``roster``: the class roster, or
None; ``similarity``: the class's similar pairs when that format is asked for, or None). ``ROSTER_FORMATS`` are the class formats that need a roster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..report import Report
from ..roster import Roster
from ..similarity import class_pairs
from ..rubric import Rubric
from ..submissions.classes import Skipped
from .gradebook import write_gradebook
from .html import render_html, write_html
from .json_report import write_json
from .lms import write_canvas, write_moodle
from .markdown import render_markdown, write_markdown
from .overview import render_overview, write_overview
from .similarity import write_similarity

SUBMISSION_FORMATS: dict[str, tuple[str, Callable[[Report, Path], Path]]] = {
    "json": ("report.json", write_json),
    "md": ("feedback.md", write_markdown),
    "html": ("feedback.html", write_html),
    "gradescope": ("results.json", __import__(f"{__name__}.gradescope", fromlist=["write_results"]).write_results),
}
CLASS_FORMATS: dict[str, tuple[str, Callable[..., Path]]] = {
    "gradebook": ("gradebook.csv", write_gradebook),
    "overview": ("overview.html", write_overview),
    "canvas": ("canvas.csv", write_canvas),
    "moodle": ("moodle.csv", write_moodle),
    "similarity": ("similarity.csv", write_similarity),
}
ROSTER_FORMATS = ("canvas", "moodle")
DEFAULT_FORMATS = ("json", "md", "html", "gradebook", "overview")


def write_submission(report: Report, folder: Path, formats: tuple[str, ...] = DEFAULT_FORMATS) -> list[Path]:
    """Write one student's reports into ``folder/<submission>/``."""
    return [writer(report, folder / report.submission / name)
            for key, (name, writer) in SUBMISSION_FORMATS.items() if key in formats]


def write_class(reports: list[Report], rubric: Rubric, folder: Path, formats: tuple[str, ...] = DEFAULT_FORMATS,
                skipped: list[Skipped] | tuple = (), roster: Roster | None = None) -> list[Path]:
    """Write the class-level outputs (gradebook, overview, LMS files, ...) into ``folder``.

    With the similarity format, the pairs are computed once here and given to every writer (the
    overview shows them side by side)."""
    similarity = class_pairs(reports) if "similarity" in formats else None
    return [writer(reports, rubric, folder / name, skipped=skipped, roster=roster, similarity=similarity)
            for key, (name, writer) in CLASS_FORMATS.items() if key in formats]


__all__ = ["CLASS_FORMATS", "DEFAULT_FORMATS", "ROSTER_FORMATS", "SUBMISSION_FORMATS", "render_html", "render_markdown", "render_overview",
           "write_class", "write_gradebook", "write_html", "write_json", "write_markdown", "write_overview", "write_submission"]
