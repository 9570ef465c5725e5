"""``grader new``: start an assignment from commented, working templates."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from ..errors import ScaffoldError
from ..scaffold import new_assignment
from .common import ConfigError, out


@click.command("new")
@click.argument("assignment_id", metavar="ID")
@click.option("--title", help="The assignment's title (default: ID).")
@click.option("--root", type=click.Path(file_okay=False), default=".", show_default=True,
              help="The project folder holding rubrics/, reference/ and submissions/.")
def new_command(assignment_id: str, title: str | None, root: str) -> None:
    """Write reference/ID.py, rubrics/ID.yaml, rubrics/ID.md and submissions/ID/ (a right and a wrong
    example with their manifest): a small working assignment, commented where to change it."""
    try:
        written = new_assignment(Path(root), assignment_id, title)
    except ScaffoldError as exc:
        raise ConfigError(str(exc)) from None
    for path in written:
        out.print(f"wrote {escape(str(path))}", highlight=False, soft_wrap=True)
    rubric = Path(root) / "rubrics" / f"{assignment_id}.yaml"
    out.print(escape(f"next: edit the files (each part says what to change), then: grader validate {rubric}"),
              highlight=False, soft_wrap=True)
