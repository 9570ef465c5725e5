"""Late-submission policies: a deadline, a grace period, a linear penalty per hour, and a cap.

```yaml
# policy.yaml
deadline: 2026-03-01T23:59:00+01:00   # ISO 8601 with a timezone
grace_minutes: 15                     # submissions up to 15 minutes late count as on time
percent_per_hour: 2                   # then 2 % of the maximum score per hour (pro rata, by the minute)
max_percent: 50                       # never more than 50 %
# percent_of: max_score               # or raw_score: percentages of the points the student earned
```

The penalty grows linearly from the end of the grace period (no jump when grace ends), is capped at
``max_percent``, is never more than the raw score (no negative finals) and is rounded to 0.01
points. Submission timestamps come from a YAML or CSV file: submission name -> ISO timestamp with
its timezone.

A submission without a timestamp gets **no penalty**: the timestamps file lists the late ones an
LMS export knows about, and a penalty must never come from a guess. ``grader grade`` prints the
names that had none, and the timestamps no submission matched (typos), so that neither goes
unnoticed; the report's ``late.note`` says "no timestamp".
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

import yaml
from pydantic import AwareDatetime, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass as pydantic_dataclass

from .errors import LateError
from .report import Late, Report
from .submissions.names import aliases


@pydantic_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class LatePolicy:
    """``LatePolicy(deadline, grace_minutes, percent_per_hour, max_percent)``; ``penalty(...)`` gives points."""

    deadline: AwareDatetime = Field(description="The deadline, ISO 8601 with a timezone.")
    grace_minutes: float = Field(0.0, ge=0, description="Minutes after the deadline that still count as on time.")
    percent_per_hour: float = Field(0.0, ge=0, description="Penalty per hour late after the grace period, in percent.")
    max_percent: float = Field(100.0, ge=0, le=100, description="The largest penalty, in percent.")
    percent_of: Literal["max_score", "raw_score"] = Field("max_score", description="What the percentages are of.")

    def hours_late(self, submitted_at: dt.datetime) -> float:
        """Hours after the deadline (0 when on time)."""
        return max(0.0, (_aware(submitted_at) - self.deadline).total_seconds() / 3600)

    def penalized_hours(self, submitted_at: dt.datetime) -> float:
        """Hours after the end of the grace period (0 within it)."""
        return max(0.0, self.hours_late(submitted_at) - self.grace_minutes / 60)

    def percent(self, submitted_at: dt.datetime) -> float:
        return min(self.max_percent, self.percent_per_hour * self.penalized_hours(submitted_at))

    def penalty(self, submitted_at: dt.datetime, raw_score: float, max_score: float) -> float:
        """Points taken off ``raw_score`` for a submission handed in at ``submitted_at``."""
        base = max_score if self.percent_of == "max_score" else raw_score
        points = self.percent(submitted_at) / 100 * base
        return round(max(0.0, min(points, raw_score)), 2)


POLICY_FIELDS = ("deadline", "grace_minutes", "percent_per_hour", "max_percent", "percent_of")


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError(f"{moment.isoformat()} has no timezone (write it as 2026-03-01T23:59:00+01:00 or ...Z)")
    return moment


def _problems(path: Path, exc: ValidationError, prefix: str = "") -> str:
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "")
        message = error["msg"]
        if error["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
            message = f"unknown field (the fields are {', '.join(POLICY_FIELDS)})"
        lines.append(f"{path}: {field or '(top level)'}: {message}")
    return "\n".join(lines)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LateError(f"{path}: cannot read: {exc.strerror or exc}") from None


def load_policy(path: Path | str) -> LatePolicy:
    """Read and validate a policy file (YAML); errors name the file and the field."""
    path = Path(path)
    try:
        data = yaml.safe_load(_read(path))
    except yaml.YAMLError as exc:
        raise LateError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise LateError(f"{path}: expected a mapping with deadline, grace_minutes, percent_per_hour, max_percent")
    try:
        return TypeAdapter(LatePolicy).validate_python(data)
    except ValidationError as exc:
        raise LateError(_problems(path, exc)) from None


_TIMESTAMP = TypeAdapter(AwareDatetime)


def load_timestamps(path: Path | str) -> dict[str, dt.datetime]:
    """``{submission name: aware datetime}`` from YAML (``name: 2026-03-02T10:00:00+01:00``) or CSV
    (a header row with ``submission`` and ``submitted_at`` columns)."""
    path = Path(path)
    text = _read(path)
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        rows = list(reader)
        columns = {c.strip() for c in reader.fieldnames or [] if c}
        rows = [{(k or "").strip(): v for k, v in row.items()} for row in rows]
        if not {"submission", "submitted_at"} <= columns:
            raise LateError(f"{path}: expected a header row with the columns submission,submitted_at (found {', '.join(sorted(columns)) or 'none'})")
        entries: list[tuple[str, Any]] = [(f"line {n + 2}: {(row['submission'] or '').strip()}", row["submitted_at"])
                                          for n, row in enumerate(rows)]
        names = [(row["submission"] or "").strip() for row in rows]
    else:
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise LateError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise LateError(f"{path}: expected a mapping of submission names to ISO timestamps")
        names = [str(name) for name in data]
        entries = list(zip(names, data.values()))
    result: dict[str, dt.datetime] = {}
    problems = []
    for name, (where, value) in zip(names, entries):
        if not name:
            problems.append(f"{path}: {where}: empty submission name")
            continue
        if name in result:
            problems.append(f"{path}: {where}: {name} is listed twice")
            continue
        try:
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                raise ValueError("a date without a time; give the time and timezone too")
            result[name] = _TIMESTAMP.validate_python(value.strip() if isinstance(value, str) else value)
        except ValidationError as exc:
            problems.append(f"{path}: {where}: {exc.errors()[0]['msg']} (got {value!r}; expected e.g. 2026-03-02T10:00:00+01:00)")
        except ValueError as exc:
            problems.append(f"{path}: {where}: {exc} (got {value!r})")
    if problems:
        raise LateError("\n".join(problems))
    return result


@dataclass(frozen=True)
class LateSubmissions:
    """A policy and the times submissions were handed in: what ``grade`` and ``grade_class`` apply."""

    policy: LatePolicy
    handed_in: Mapping[str, dt.datetime]

    @classmethod
    def load(cls, policy: Path | str, timestamps: Path | str) -> LateSubmissions:
        return cls(load_policy(policy), load_timestamps(timestamps))

    def submitted_at(self, report: Report) -> dt.datetime | None:
        for key in aliases(report.submission, report.path):
            if key in self.handed_in:
                return self.handed_in[key]
        return None

    def late(self, report: Report) -> Late | None:
        """The report's late figures (None for a report that could not be graded: no score to penalise)."""
        if report.status != "graded":
            return None
        submitted = self.submitted_at(report)
        if submitted is None:
            return Late(final=report.score, note="no timestamp")
        penalty = self.policy.penalty(submitted, report.score, report.max_score)
        hours = self.policy.hours_late(submitted)
        note = "" if hours == 0 else "in grace period" if self.policy.penalized_hours(submitted) == 0 else f"{hours:.2f} h late"
        return Late(submitted_at=submitted.isoformat(), hours_late=round(hours, 4), penalty=penalty,
                    final=round(report.score - penalty, 6), note=note)

    def apply(self, report: Report) -> Report:
        """The report with its ``late`` figures set."""
        return report.model_copy(update={"late": self.late(report)})

    def unmatched(self, reports: Iterable[Report]) -> tuple[list[str], list[str]]:
        """(graded submissions without a timestamp, timestamps that match no submission)."""
        reports = list(reports)
        known = {key for r in reports for key in aliases(r.submission, r.path)}
        missing = [r.submission for r in reports if r.status == "graded" and self.submitted_at(r) is None]
        return missing, sorted(name for name in self.handed_in if name not in known)
