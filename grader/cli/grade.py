"""``grader grade``: grade a class, with a progress bar, into a gradebook and per-student reports."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.markup import escape
from rich.table import Table

from ..api import grade_class
from ..errors import LateError, ManifestError, RosterError
from ..late import LateSubmissions
from ..manifest import load_overrides
from ..roster import load_roster
from ..reporters import CLASS_FORMATS, DEFAULT_FORMATS, SUBMISSION_FORMATS
from .common import ConfigError, console, load, out


@click.command("grade")
@click.argument("rubric", type=click.Path(exists=True, dir_okay=False))
@click.argument("submissions", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Folder for the gradebook and per-student reports.")
@click.option("--jobs", "-j", default=1, show_default=True, help="Submissions graded at once (here; with --dask local, its workers).")
@click.option("--overrides", type=click.Path(exists=True, dir_okay=False), help="TA points for manual questions (YAML).")
@click.option("--no-sandbox", is_flag=True, help="Run without bubblewrap (limits only). Not for untrusted code.")
@click.option("--class-folder", is_flag=True, help="Treat every folder given as a class, even one holding only files.")
@click.option("--force", is_flag=True, help="Regrade everything, ignoring cached reports and transcripts.")
@click.option("--rerun", is_flag=True, help="Run every submission's code again, even where its transcript could score it anew.")
@click.option("--dask", "dask_address", help="Grade on a dask.distributed scheduler (tcp://host:8786), local:N (a LocalCluster "
                                             "of N workers) or local (a LocalCluster of --jobs workers).")
@click.option("--format", "formats", multiple=True, type=click.Choice(sorted({*SUBMISSION_FORMATS, *CLASS_FORMATS})),
              help=f"Outputs to write (repeatable; default: {', '.join(DEFAULT_FORMATS)}).")
@click.option("--late-policy", type=click.Path(exists=True, dir_okay=False),
              help="Late policy (YAML: deadline, grace_minutes, percent_per_hour, max_percent); needs --timestamps.")
@click.option("--timestamps", type=click.Path(exists=True, dir_okay=False),
              help="When each submission was handed in (YAML or CSV: submission name -> ISO timestamp with timezone).")
@click.option("--roster", "roster_file", type=click.Path(exists=True, dir_okay=False),
              help="Class roster (CSV: submission,name,id,sis_user_id,sis_login_id,section,email) for --format canvas/moodle.")
@click.pass_context
def grade_command(ctx: click.Context, rubric: str, submissions: tuple[str, ...], out_dir: str, jobs: int,
                  overrides: str | None, no_sandbox: bool, class_folder: bool, force: bool, formats: tuple[str, ...],
                  dask_address: str | None, late_policy: str | None = None, timestamps: str | None = None,
                  roster_file: str | None = None, rerun: bool = False) -> None:
    """Grade a class: SUBMISSIONS are class folders (each entry one student) or single submissions.

    A folder with sub-folders is a class; a folder of plain files is one student's submission
    (answers.yaml + conv1d.py, say), unless --class-folder is given.
    """
    assignment = load(rubric)
    try:
        manual = load_overrides(Path(overrides)) if overrides else {}
    except ManifestError as exc:
        raise ConfigError(str(exc)) from None
    if bool(late_policy) != bool(timestamps):
        raise ConfigError("--late-policy and --timestamps go together: give both or neither")
    try:
        late = LateSubmissions.load(late_policy, timestamps) if late_policy else None
    except LateError as exc:
        raise ConfigError(f"the late policy cannot be used:\n{exc}") from None
    try:
        roster = load_roster(roster_file) if roster_file else None
    except RosterError as exc:
        raise ConfigError(f"the roster cannot be used:\n{exc}") from None
    executor = _executor(dask_address, jobs, ctx.get_parameter_source("jobs") == ParameterSource.COMMANDLINE)
    columns = [TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("grading", total=None)

        def found(entries: int) -> None:
            if not entries:
                raise ConfigError(f"no submissions found in {', '.join(submissions)}")
            progress.update(task, total=entries)

        try:
            result = grade_class([Path(s) for s in submissions], assignment, out=Path(out_dir), jobs=jobs, executor=executor,
                                 cache=not force, rerun=rerun, overrides=manual, late=late, formats=formats or DEFAULT_FORMATS,
                                 class_folders=True if class_folder else None, sandbox=False if no_sandbox else None,
                                 roster=roster, on_found=found, on_done=lambda report: progress.advance(task))
        except ValueError as exc:  # e.g. a kit given to a dask cluster, an LMS format without a roster
            raise ConfigError(str(exc)) from None
        except RosterError as exc:  # a roster the chosen LMS could not use (checked before grading)
            raise ConfigError(f"the roster cannot be used:\n{exc}") from None
    _summary(result, Path(out_dir))


def _executor(dask_address: str | None, jobs: int, jobs_given: bool) -> str:
    if not dask_address:
        return "local"
    if dask_address == "local":
        return f"local:{jobs}"
    if jobs_given:
        raise ConfigError(f"--jobs does not apply to --dask {dask_address}: the cluster's workers grade one submission "
                          "each (size it with local:N, or `dask worker --nworkers N`)")
    return dask_address


def _summary(result, target: Path) -> None:
    rubric = result.assignment.rubric
    for skipped in result.skipped:
        console.print(f"[yellow]not graded:[/] {escape(skipped.shown)}: {escape(skipped.reason)}", highlight=False, soft_wrap=True)
    if result.late is not None:
        missing, strays = result.unmatched_timestamps()
        if missing:
            console.print(f"[yellow]late policy: no timestamp for {len(missing)} (no penalty):[/] {', '.join(missing)}", soft_wrap=True)
        if strays:
            console.print(f"[yellow]late policy: timestamps that match no submission:[/] {escape(', '.join(strays))}", soft_wrap=True)
        penalised = [f"{r.submission} -{r.late.penalty:g}" for r in result.reports if r.late is not None and r.late.penalty > 0]
        out.print(f"late policy: {len(penalised)} penalised" + (f" ({', '.join(penalised)})" if penalised else ""))
    strays = result.off_roster()
    if strays:
        console.print(f"[yellow]not on the roster ({len(strays)}, no LMS grade):[/] {escape(', '.join(r.submission for r in strays))}",
                      highlight=False, soft_wrap=True)
    table = Table(title=f"{rubric.id}: {len(result.reports)} submissions")
    for column in ("submission", "score", "status", "seconds"):
        table.add_column(column)
    for report in result.reports:
        score = f"{report.final_score:g}/{report.max_score:g}" if report.status == "graded" else "-"
        status = report.status if report.status == "graded" else f"[red]{report.status}[/]: {escape((report.reason or '')[:60])}"
        table.add_row(report.submission, score, status, f"{report.seconds:.2f}")
    out.print(table)
    graded = result.graded
    cached = f"; {result.cached} unchanged (from the cache)" if result.cached else ""
    cached += f"; {result.rescored} re-scored without running (from their transcripts), {result.run} run" if result.rescored else ""
    if graded:
        out.print(f"mean {result.mean:.2f} / {rubric.max_points:g} over {len(graded)} graded; "
                  f"{len(result.reports) - len(graded)} could not be graded{cached}. Wrote {target}/")
