"""The ``grader`` command line: a thin layer over ``grader.api``, one module per command group.

Exit codes: ``check`` and ``ci`` give 0 when every check passes, 1 when some fail, 2 for a usage or
configuration error (or, for ``ci``, a submission that could not be graded); ``grade`` gives 0
whenever the batch ran, whatever the scores; ``validate`` gives 0 when every example scores as its
manifest says.
"""

from __future__ import annotations

import json

import click

from ..rubric import json_schema
from .check import check_command
from .ci import ci_command, init_ci_command
from .grade import grade_command
from .gradescope import gradescope_package_command, gradescope_run_command
from .kit import bundle_command
from .new import new_command
from .validate import validate_command


@click.group()
@click.version_option(package_name="dl-grader")
def main() -> None:
    """Grade deep-learning assignments: notebooks, modules and answer files, in a sandbox."""


@main.command("schema")
def schema_command() -> None:
    """Print the rubric JSON Schema (for editor completion)."""
    click.echo(json.dumps(json_schema(), indent=2))


for command in (grade_command, check_command, validate_command, new_command, bundle_command, ci_command, init_ci_command,
                gradescope_package_command, gradescope_run_command):
    main.add_command(command)

__all__ = ["main"]
