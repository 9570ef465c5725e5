"""GitHub Actions and GitHub Classroom: workflow commands, the job summary and the runner's result.

``readable_log`` gives the plain lines a person reads in the job's log, inside a ``stop-commands``
block (GitHub's own way to keep printed text from being read as workflow commands: student text
there can neither start a line nor raise an annotation); ``annotations`` gives an ``::error`` per failed check and the ``Points X/Y`` notices GitHub Classroom
reads; ``summary_markdown`` the table for ``$GITHUB_STEP_SUMMARY``; ``classroom_result`` the base64
result the autograding reporter reads from ``$GITHUB_OUTPUT``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets

from ..escaping import markdown, markdown_code, one_line, workflow_data, workflow_property
from ..report import CheckResult, QuestionResult, Report
from .junit import check_details, failing

_ICON = {"passed": "✅", "failed": "❌", "error": "💥", "not-gradable": "⚠️", "pending": "⏳"}


def annotation(kind: str, title: str, message: str) -> str:
    return f"::{kind} title={workflow_property(title)}::{workflow_data(message)}"


def check_title(question: QuestionResult, check: CheckResult) -> str:
    name = question.id if check.id == question.id else f"{question.id} / {check.id}"
    return f"{name} ({check.score:g}/{check.max_score:g} points)"


def points_line(report: Report) -> str:
    """The line GitHub Classroom reads: ``Points 11/16`` (after any late penalty)."""
    return f"Points {report.final_score:g}/{report.max_score:g}"


def readable_log(report: Report) -> list[str]:
    """Every check and run event on a line of its own, student text escaped, workflow commands stopped."""
    token = secrets.token_hex(16)
    lines = [f"::stop-commands::{token}", f"{report.rubric}: {one_line(report.submission)}"]
    if report.status == "graded":
        for question in report.questions:
            for check in question.checks:
                lines.append(f"  {check.status.upper():8} {check_title(question, check)}: {one_line(check_details(check))}")
        lines += [f"  {one_line(e.where)} ({e.kind}): {one_line(e.message)}" for e in report.events]
    return [*lines, f"::{token}::"]


def annotations(report: Report) -> list[str]:
    """Error annotations for failed checks, then GitHub Classroom's two notices."""
    if report.status != "graded":
        return [annotation("error", "Could not grade", f"{report.submission}: {report.reason or 'unknown reason'}")]
    lines = [annotation("error", check_title(q, c), check_details(c)) for q in report.questions for c in q.checks if failing(c)]
    lines.append(annotation("notice", "Autograding complete", points_line(report)))
    lines.append(annotation("notice", "Autograding report", json.dumps({"totalPoints": report.final_score, "maxPoints": report.max_score})))
    return lines


def summary_markdown(report: Report) -> str:
    """The job summary: the score and one row per check."""
    if report.status != "graded":
        return (f"## {report.rubric}: {report.submission} could not be graded\n\n"
                f"This is not a judgement of the work. Reason: {markdown(report.reason or 'unknown')}\n\n")
    lines = [f"## {report.rubric}: {report.submission}: {report.final_score:g}/{report.max_score:g} points", "",
             "| | Question | Check | Points | Details |", "|---|---|---|---|---|"]
    for question in report.questions:
        for check in question.checks:
            hidden = " (hidden)" if check.visibility == "hidden" else ""
            lines.append(f"| {_ICON.get(check.status, '')} | {question.id} | {check.id}{hidden} | "  # (the rubric's own ids)
                         f"{check.score:g}/{check.max_score:g} | {markdown(check_details(check))} |")
    if report.events:
        lines += ["", "<details><summary>While running the code</summary>", ""]
        lines += [f"- {markdown_code(e.where)} ({e.kind}): {markdown(e.message)}" for e in report.events]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n\n"


def classroom_result(report: Report) -> str:
    """GitHub Classroom's runner result (as the autograding-grading-reporter action reads it), base64."""
    tests = [{"name": f"{q.id} / {c.id}", "status": "pass" if c.status == "passed" else "fail" if c.status == "failed" else "error",
              "score": c.score, "message": check_details(c), "line_no": 0, "execution_time": f"{c.seconds or 0:.3f}s"}
             for q in report.questions for c in q.checks]
    failed = [t for t in tests if t["status"] != "pass"]
    status = "error" if report.status != "graded" else "fail" if failed else "pass"
    data = {"version": 1, "status": status, "max_score": report.max_score, "tests": tests}
    return base64.b64encode(json.dumps(data).encode()).decode()


def append_to(env_name: str, text: str) -> None:
    """Append ``text`` to the file a GitHub environment variable names ($GITHUB_STEP_SUMMARY, $GITHUB_OUTPUT), if set."""
    target = os.environ.get(env_name)
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text)
