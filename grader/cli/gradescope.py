"""``grader gradescope-package`` builds Gradescope's autograder zip; ``grader gradescope-run`` grades inside it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..api import grade
from ..assignment import load_assignment
from ..errors import PackageError, RubricError
from ..gradescope import DEFAULT_ROOT, build_package
from ..reporters.gradescope import write_results
from .common import ConfigError, rubric_problems


@click.command("gradescope-package")
@click.argument("rubric", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for autograder.zip.")
@click.option("--torch", "torch", help="The torch requirement setup.sh installs from the CPU wheel index, e.g. 'torch==2.5.1' (default: the newest).")
def gradescope_package_command(rubric: str, out_dir: str, torch: str | None) -> None:
    """Build Gradescope's autograder zip for RUBRIC (upload it as the assignment's autograder)."""
    try:
        path = build_package(Path(rubric), Path(out_dir), torch=torch)
    except RubricError as exc:
        raise ConfigError(rubric_problems(exc)) from None
    except PackageError as exc:
        raise ConfigError(str(exc)) from None
    click.echo(f"wrote {path} ({path.stat().st_size // 1024} KiB). On Gradescope: Configure Autograder, "
               "base image Ubuntu 22.04 or later, upload this zip.")


@click.command("gradescope-run")
@click.option("--root", default=lambda: os.environ.get("AUTOGRADER_ROOT", DEFAULT_ROOT), show_default="$AUTOGRADER_ROOT or /autograder",
              type=click.Path(file_okay=False), help="Gradescope's /autograder folder.")
@click.option("--rubric", "rubric", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--check-only", is_flag=True, help="Only load the rubric and its references (setup.sh uses this).")
@click.option("--no-sandbox", is_flag=True, help="Run without bubblewrap (limits only).")
def gradescope_run_command(root: str, rubric: str, check_only: bool, no_sandbox: bool) -> None:
    """Grade ROOT/submission for Gradescope and write ROOT/results/results.json (run_autograder runs this)."""
    try:
        assignment = load_assignment(rubric)
    except RubricError as exc:
        click.echo(rubric_problems(exc), err=True)
        sys.exit(2)
    if check_only:
        click.echo(f"rubric {assignment.rubric.id} loads: {assignment.rubric.max_points:g} points, references import")
        return
    folder = Path(root)
    report = grade(folder / "submission", assignment, sandbox=False if no_sandbox else None)
    if report.status != "graded":
        click.echo(f"could not grade this submission (no results.json written, so Gradescope reports an "
                   f"autograder failure rather than a zero): {report.reason}")
        sys.exit(1)
    path = write_results(report, folder / "results" / "results.json")
    click.echo(f"{report.rubric}: {report.score:g}/{report.max_score:g} in {report.seconds:.1f}s; wrote {path}")
    for event in report.events:
        click.echo(f"  {event.where} ({event.kind}): {event.message}")
