"""``grader check``: a student's self-check against the public checks, as a friendly table."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from ..api import grade
from ..report import Report
from .common import load, out
from .fit import fit_value, free_width


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
    """A friendly table of one report that fits the terminal (student-controlled text is never read as markup).

    One column per check (its id names the question), the details take the rest of the width, and the
    expected and the student's values are each shortened to one line of it (``grader.cli.fit``).
    """
    if report.status != "graded":
        out.print(f"[bold red]Could not grade[/] {escape(report.submission)}: {escape(report.reason or '')}")
        return
    rows = [(check.id if check.id.startswith(question.id) else f"{question.id}: {check.id}", check)
            for question in report.questions for check in question.checks]
    style = {"passed": "green", "failed": "red", "error": "red", "pending": "yellow", "not-gradable": "magenta"}
    points = [f"{c.score:g}/{c.max_score:g}" for _, c in rows]
    names = min(max([len("check"), *(len(name) for name, _ in rows)]), max(12, out.width // 4))
    statuses = max([len("result"), *(len(c.status) for _, c in rows)])
    width = free_width(out, [names, statuses, max([len("points"), *map(len, points)])])
    table = Table(title=escape(f"{report.submission}: {report.score:g} / {report.max_score:g}"))
    table.add_column("check", no_wrap=True, overflow="ellipsis", width=names)
    table.add_column("result", no_wrap=True)
    table.add_column("points", no_wrap=True)
    table.add_column("details", overflow="fold", ratio=1)
    for (name, check), score in zip(rows, points):
        details = escape("; ".join(x for x in (check.message, check.feedback) if x))
        if check.status != "passed" and check.expected is not None:
            details += "\n" + escape(f"expected {fit_value(check.expected, width - len('expected '))}")
            details += "\n" + escape(f"got      {fit_value(check.got, width - len('got      '))}")
        table.add_row(escape(name), f"[{style[check.status]}]{check.status}[/]", score, details)
    out.print(table)
    for event in report.events:
        out.print(f"[yellow]{escape(event.where)}[/] ({event.kind}): {escape(event.message)}")
