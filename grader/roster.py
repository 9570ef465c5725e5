"""Class rosters: which student (as the LMS knows them) handed in which submission.

A roster is a CSV file with the header ``submission,name,id,sis_user_id,sis_login_id,section,email``
(in any order; extra columns are ignored, so an LMS export with a submission column added works).
``submission`` is the submission's name or file name, as ``grader grade`` names it
(``grader.submissions.names.aliases``); it may be empty for a student who handed nothing in. The
LMS formats (``--format canvas``, ``--format moodle``) write one row per roster student.

Refused, with the file, line and field: a missing column, a row that names no student, one student
on several rows with different submissions (both names are given: which one counts is a person's
decision), and one submission claimed by two students.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .errors import RosterError
from .report import Report
from .submissions.names import aliases

COLUMNS = ("submission", "name", "id", "sis_user_id", "sis_login_id", "section", "email")


@dataclass(frozen=True)
class Student:
    """One roster row: the student's LMS identities and the submission they handed in ('' for none)."""

    submission: str
    name: str = ""
    id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    email: str = ""
    line: int = 0

    @property
    def identity(self) -> str:
        """What makes two rows the same student: the LMS id first, then SIS ids, e-mail, name."""
        for kind in ("id", "sis_user_id", "sis_login_id", "email", "name"):
            value = getattr(self, kind)
            if value:
                return f"{kind}:{value.casefold() if kind == 'email' else value}"
        return ""


@dataclass(frozen=True)
class Roster:
    path: str
    students: tuple[Student, ...]

    @classmethod
    def load(cls, path: Path | str) -> Roster:
        return load_roster(path)

    def student_for(self, report: Report) -> Student | None:
        """The roster student who handed in ``report``'s submission (by its name or its file name)."""
        keys = aliases(report.submission, report.path)
        return next((s for s in self.students if s.submission and s.submission in keys), None)

    def match(self, reports: Iterable[Report]) -> tuple[dict[int, Report], list[Report], list[Student]]:
        """({roster row index: report}, reports of no roster student, roster students whose submission was not found)."""
        by_row: dict[int, Report] = {}
        strays: list[Report] = []
        for report in reports:
            keys = aliases(report.submission, report.path)
            row = next((i for i, s in enumerate(self.students) if s.submission and s.submission in keys), None)
            if row is None:
                strays.append(report)
            else:
                by_row[row] = report
        missing = [s for i, s in enumerate(self.students) if i not in by_row]
        return by_row, strays, missing


# What each LMS format needs to find a student (its importer's rules: grader.reporters.lms).
NEEDED = {"canvas": ("name", "id", "sis_user_id"), "moodle": ("email",)}


def check_roster(roster: Roster, formats: Iterable[str]) -> None:
    """Refuse, before anything is graded, a roster whose rows the chosen LMS could not match to a student."""
    problems = []
    for fmt in formats:
        fields = NEEDED.get(fmt)
        if fields is None:
            continue
        for s in roster.students:
            if not any(getattr(s, f) for f in fields):
                problems.append(f"{roster.path}:{s.line}: {fields[0]}: {_who(s)} has no {' or '.join(fields)}, which "
                                f"{fmt.capitalize()} needs to find the student")
    if problems:
        raise RosterError("\n".join(problems))


def load_roster(path: Path | str) -> Roster:
    """Read and check a roster CSV; every problem names the file, the line and the field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # an export from a spreadsheet may start with a BOM
    except OSError as exc:
        raise RosterError(f"{path}: cannot read the roster: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise RosterError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save the roster as UTF-8 CSV") from None
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), restkey="(extra)")
        header = [(name or "").strip() for name in reader.fieldnames or []]
        reader.fieldnames = header
        rows = list(reader)
    except csv.Error as exc:
        raise RosterError(f"{path}:{reader.line_num}: not a readable CSV file: {exc}") from None
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise RosterError(f"{path}:1: the header lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                          f"(a roster has {','.join(COLUMNS)}; other columns are ignored)")
    problems: list[str] = []
    students: list[Student] = []
    seen: dict[str, Student] = {}
    claimed: dict[str, Student] = {}
    for number, row in enumerate(rows, start=2):
        values = {c: (row.get(c) or "").strip() for c in COLUMNS}
        if not any(values.values()):
            continue  # a blank line
        student = Student(**values, line=number)
        where = f"{path}:{number}"
        if not student.identity:
            problems.append(f"{where}: name: the row names no student (give at least a name, id or email)")
            continue
        first = seen.get(student.identity)
        if first is not None:
            if first.submission != student.submission:
                problems.append(f"{where}: submission: {_who(student)} is on line {first.line} too, with another "
                                f"submission: {first.submission or '(none)'!r} and {student.submission or '(none)'!r}; "
                                "keep the row of the one that counts")
            continue
        seen[student.identity] = student
        if student.submission:
            other = claimed.get(student.submission)
            if other is not None:
                problems.append(f"{where}: submission: {student.submission!r} is also {_who(other)}'s (line {other.line})")
                continue
            claimed[student.submission] = student
        students.append(student)
    if problems:
        raise RosterError("\n".join(problems))
    return Roster(str(path), tuple(students))


def _who(student: Student) -> str:
    return student.name or student.email or student.id or student.sis_user_id or student.sis_login_id
