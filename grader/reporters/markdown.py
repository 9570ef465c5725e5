"""``feedback.md``: the per-student feedback, friendly and without hidden answers."""

from __future__ import annotations

from pathlib import Path

from ..escaping import markdown, markdown_code
from ..report import CheckResult, Report
from .junit import check_details

_ICON = {"passed": "✅", "failed": "❌", "error": "💥", "not-gradable": "⚠️", "pending": "⏳"}


def render_markdown(report: Report) -> str:
    lines = [f"# Feedback: {report.submission} ({report.rubric})", ""]
    if report.status == "not-gradable":
        lines += ["**This submission could not be graded.** This is not a judgement of your work; "
                  "the course staff has been told.", "", f"Reason: {markdown(report.reason or 'unknown')}", ""]
        return "\n".join(lines)
    lines += [f"**Score: {report.score:g} / {report.max_score:g}**", ""]
    if report.late is not None and report.late.penalty:
        lines += [f"Late ({report.late.note}): -{report.late.penalty:g} points, final score "
                  f"**{report.late.final:g} / {report.max_score:g}**", ""]
    lines += ["| Question | Check | Result | Points | Details |", "|---|---|---|---|---|"]
    for question in report.questions:
        for check in question.checks:
            lines.append(f"| {question.id} | {check.id}{' (hidden)' if check.visibility == 'hidden' else ''} | "
                         f"{_ICON.get(check.status, '')} {check.status} | {check.score:g}/{check.max_score:g} | {_details(check)} |")
    if report.events:
        lines += ["", "## While running your code", ""]
        lines += [f"- {markdown_code(e.where)} ({e.kind}): {markdown(e.message)}" for e in report.events]
    return "\n".join(lines) + "\n"


def _details(check: CheckResult) -> str:
    return markdown(check_details(check, limit=80))


def write_markdown(report: Report, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(report), encoding="utf-8")
    return path
