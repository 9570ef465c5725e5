"""``grader check``: a student's self-check against the public checks, as a friendly table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from ..api import grade
from ..report import Report
from .common import load, out


@click.command("check")
@click.argument("rubric", type=click.Path(exists=True))
@click.argument("submission", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check_command(rubric: str, submission: str, as_json: bool) -> None:
    """Self-check one submission against the public checks (exit 0: all pass, 1: some fail).

    RUBRIC is a rubric file or a student kit folder (``grader bundle``). SUBMISSION may be the folder
    the kit lies in (``grader check kit .``): the kit is not taken as the student's work.
    """
    assignment = load(rubric, public=True)
    report = grade(Path(submission), assignment, exclude=[Path(rubric)])
    if as_json:
        out.print_json(report.model_dump_json())
    else:
        print_report(report)
    if report.status != "graded":
        sys.exit(2)
    sys.exit(0 if report.all_public_passed else 1)


def print_report(report: Report) -> None:
    """A friendly table of one report (student-controlled text is never read as markup)."""
    if report.status != "graded":
        out.print(f"[bold red]Could not grade[/] {escape(report.submission)}: {escape(report.reason or '')}")
        return
    table = Table(title=escape(f"{report.submission}: {report.score:g} / {report.max_score:g}"))
    for column in ("question", "check", "result", "points", "details"):
        table.add_column(column, overflow="fold")
    style = {"passed": "green", "failed": "red", "error": "red", "pending": "yellow", "not-gradable": "magenta"}
    for question in report.questions:
        for check in question.checks:
            details = "; ".join(x for x in (check.message, check.feedback) if x)
            if check.status != "passed" and check.expected is not None:
                details += f"; expected {json.dumps(check.expected)}, got {json.dumps(check.got)}"
            table.add_row(question.id, check.id, f"[{style[check.status]}]{check.status}[/]", f"{check.score:g}/{check.max_score:g}",
                          escape(details))
    out.print(table)
    for event in report.events:
        out.print(f"[yellow]{escape(event.where)}[/] ({event.kind}): {escape(event.message)}")
