"""Grades for an LMS's gradebook import: ``canvas.csv`` (Canvas) and ``moodle.csv`` (Moodle).

Both need a roster (``grader.roster``): one row per roster student, the final score (after any late
penalty) or an empty cell where there is none (no submission, or one that could not be graded: never
a zero), and nothing for submissions that no roster student handed in (``grader grade`` lists those).

Canvas (Grades > Import; its guides: the identifying columns Student, ID, SIS User ID, SIS Login ID and
Section, at least one of the first three filled in; an assignment column named ``Title (id)``, as
Canvas's own export names them; the second row may be ``Points Possible``). The assignment column is
``<rubric title> (<rubric id>)``: Canvas matches a column to an existing assignment by the number in
parentheses, so this imports as a new assignment unless the header is given that assignment's
Canvas id.

Moodle (Grades > Import > CSV file; gradeimport_csv's load_data.php): the user is identified by
mapping a column to e-mail ("Map from: Email address", "Map to: Email address"); a row whose e-mail
matches no user aborts the whole import, an empty or ``-`` grade is no grade, any other grade must be a
number within the grade item's range, and a column can be mapped to the item's feedback. The header
is exactly ``Full name,Email address,<rubric title>,Feedback``; the feedback is plain text, a
summary of the scores per question with no links (Moodle shows it to the student as it is).

Every text cell comes from a roster or a report, and some are typed by students (display names):
a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to
Excel, LibreOffice and Google Sheets (CSV injection), so it gets a leading ``'`` (OWASP's advice),
which spreadsheets show as text and the LMS keeps as part of the text. Grades are numbers written here.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..report import Report
from ..roster import Roster
from ..rubric import Rubric

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_IDENTITY = ("Full name", "Email address")


def safe_cell(text: str) -> str:
    """``text`` as a cell no spreadsheet runs as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def grade(report: Report | None) -> str:
    """The final score, or '' where there is none (never a zero for a missing or ungradable submission)."""
    if report is None or report.status != "graded":
        return ""
    return f"{round(report.final_score, 4):g}"


def write_canvas(reports: list[Report], rubric: Rubric, path: Path, skipped=(), roster: Roster | None = None,
                 similarity=None) -> Path:
    roster = _needed(roster, "canvas")
    by_row, _strays, _missing = roster.match(reports)
    rows = [[*CANVAS_IDENTITY, f"{rubric.title} ({rubric.id})"], ["Points Possible", "", "", "", "", f"{rubric.max_points:g}"]]
    for index, s in enumerate(roster.students):
        rows.append([*map(safe_cell, (s.name, s.id, s.sis_user_id, s.sis_login_id, s.section)), grade(by_row.get(index))])
    return _write(path, rows)


def write_moodle(reports: list[Report], rubric: Rubric, path: Path, skipped=(), roster: Roster | None = None,
                 similarity=None) -> Path:
    roster = _needed(roster, "moodle")
    by_row, _strays, _missing = roster.match(reports)
    rows = [[*MOODLE_IDENTITY, rubric.title, "Feedback"]]
    for index, s in enumerate(roster.students):
        report = by_row.get(index)
        rows.append([safe_cell(s.name), safe_cell(s.email), grade(report), safe_cell(feedback(report, rubric))])
    return _write(path, rows)


def feedback(report: Report | None, rubric: Rubric) -> str:
    """A plain-text, link-free summary: the total, any late penalty, the points per question."""
    if report is None:
        return "No submission was found."
    if report.status != "graded":
        return "Your submission could not be graded automatically; your instructor will be in touch."
    lines = [f"{rubric.title}: {report.final_score:g} / {report.max_score:g} points."]
    if report.late is not None and report.late.penalty > 0:
        lines.append(f"Late penalty: -{report.late.penalty:g} points ({report.late.note}); before it: {report.score:g}.")
    for question in report.questions:
        mistakes = sorted({c.mistake for c in question.checks if c.mistake})
        status = "pending (a TA grades it)" if question.status == "pending" else f"{question.score:g} / {question.max_score:g}"
        lines.append(f"{question.title or question.id}: {status}" + (f" ({'; '.join(mistakes)})" if mistakes else ""))
    return "\n".join(lines)


def _needed(roster: Roster | None, name: str) -> Roster:
    if roster is None:
        raise ValueError(f"the {name} format needs a roster (grader grade --roster roster.csv)")
    return roster


def _write(path: Path, rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path
