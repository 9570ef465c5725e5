"""``grader bundle``: write the student kit for a rubric."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import KitError, RubricError
from ..kit import bundle
from .common import ConfigError, out, rubric_problems


@click.command("bundle")
@click.argument("rubric", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Folder for the kit.")
def bundle_command(rubric: str, out_dir: str) -> None:
    """Write a student kit: public checks with precomputed expectations, the sheet, no reference code."""
    try:
        path = bundle(Path(rubric), Path(out_dir))
    except RubricError as exc:
        raise ConfigError(rubric_problems(exc)) from None
    except KitError as exc:
        raise ConfigError(str(exc)) from None
    out.print(f"wrote the student kit to {path}/ (check with: grader check {path} SUBMISSION)")
