"""``grader bundle``: write the student kit for a rubric."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import KitError, RubricError
from rich.markup import escape
from rich.table import Table

from ..kit import Kit, bundle
from .common import ConfigError, out, rubric_problems


@click.command("bundle")
@click.argument("rubric", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Folder for the kit.")
def bundle_command(rubric: str, out_dir: str) -> None:
    """Write a student kit: public checks with precomputed expectations, the sheet, no reference code."""
    try:
        kit = bundle(Path(rubric), Path(out_dir))
    except RubricError as exc:
        raise ConfigError(rubric_problems(exc)) from None
    except KitError as exc:
        raise ConfigError(str(exc)) from None
    out.print(escape(f"wrote the student kit to {kit.path}/ (check with: grader check {kit.path} SUBMISSION)"), highlight=False, soft_wrap=True)
    print_reveals(kit)


def print_reveals(kit: Kit) -> None:
    """What a student can read from the kit (kit.json holds every public expectation, by design)."""
    if kit.reveals:
        table = Table(title="What the kit gives away (readable in kit.json)", title_justify="left")
        for column in ("check", "kind", "reveals"):
            table.add_column(column, overflow="fold")
        for reveal in kit.reveals:
            table.add_row(reveal.check, reveal.kind, reveal.what)
        out.print(table)
        out.print("A value check's expected value is its answer. To keep one out of the kit, give the check "
                  "`kit: hide`: it is then checked only at grading.", highlight=False, soft_wrap=True)
    if kit.kept_out:
        out.print(f"kept out of the kit (kit: hide): {', '.join(kit.kept_out)}", highlight=False, soft_wrap=True)
    if kit.dropped:
        out.print(f"also left out (they use a kept-out answer): {', '.join(kit.dropped)}", highlight=False, soft_wrap=True)
    for leak in kit.leaks:
        out.print(f"[bold yellow]WARNING[/] kit: hide does not hide {escape(leak)}", highlight=False, soft_wrap=True)
