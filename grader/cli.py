"""The ``grader`` command line: a thin layer over ``grader.api``.

Exit codes: ``check`` gives 0 when every public check passes, 1 when some fail, 2 for a usage or
configuration error; ``grade`` gives 0 whenever the batch ran, whatever the scores; ``validate``
gives 0 when every example scores as its manifest says.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .cache import ReportCache
from .distributed import grade_on_dask
from .kit import KitError, bundle
from .api import Assignment, grade, grade_many, is_class_folder, list_submissions
from .manifest import ManifestError, load_manifest, load_overrides, validate_examples
from .reporters import CLASS_FORMATS, DEFAULT_FORMATS, SUBMISSION_FORMATS, write_class, write_submission
from .late import LateError, apply_policy, load_policy, load_timestamps, unmatched
from .reporters.gradebook import write_gradebook
from .rubric import RubricError, json_schema, public_only

console = Console(stderr=True)
out = Console()


class ConfigError(click.ClickException):
    exit_code = 2


def _load(rubric: str, public: bool = False) -> Assignment:
    try:
        assignment = Assignment.load(rubric)
    except KitError as exc:
        raise ConfigError(str(exc)) from None
    except RubricError as exc:
        raise ConfigError("the rubric has problems:\n" + "\n".join(f"  {p}" for p in exc.problems)) from None
    if public:
        assignment.rubric = public_only(assignment.rubric)
    return assignment


@click.group()
@click.version_option(package_name="dl-grader")
def main() -> None:
    """Grade deep-learning assignments: notebooks, modules and answer files, in a sandbox."""


@main.command("grade")
@click.argument("rubric", type=click.Path(exists=True, dir_okay=False))
@click.argument("submissions", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Folder for the gradebook and per-student reports.")
@click.option("--jobs", "-j", default=1, show_default=True, help="Submissions graded at once.")
@click.option("--overrides", type=click.Path(exists=True, dir_okay=False), help="TA points for manual questions (YAML).")
@click.option("--no-sandbox", is_flag=True, help="Run without bubblewrap (limits only). Not for untrusted code.")
@click.option("--class-folder", is_flag=True, help="Treat every folder given as a class, even one holding only files.")
@click.option("--force", is_flag=True, help="Regrade everything, ignoring cached reports of unchanged submissions.")
@click.option("--dask", "dask_address", help="Grade on a dask.distributed scheduler (tcp://host:8786) or local:N (a LocalCluster).")
@click.option("--format", "formats", multiple=True, type=click.Choice(sorted({*SUBMISSION_FORMATS, *CLASS_FORMATS})),
              help=f"Outputs to write (repeatable; default: {', '.join(DEFAULT_FORMATS)}).")
@click.option("--late-policy", type=click.Path(exists=True, dir_okay=False),
              help="Late policy (YAML: deadline, grace_minutes, percent_per_hour, max_percent); needs --timestamps.")
@click.option("--timestamps", type=click.Path(exists=True, dir_okay=False),
              help="When each submission was handed in (YAML or CSV: submission name -> ISO timestamp with timezone).")
def grade_command(rubric: str, submissions: tuple[str, ...], out_dir: str, jobs: int, overrides: str | None,
                  no_sandbox: bool, class_folder: bool, force: bool, formats: tuple[str, ...],
                  dask_address: str | None, late_policy: str | None = None, timestamps: str | None = None) -> None:
    """Grade a class: SUBMISSIONS are class folders (each entry one student) or single submissions.

    A folder with sub-folders is a class; a folder of plain files is one student's submission
    (answers.yaml + conv1d.py, say), unless --class-folder is given.
    """
    assignment = _load(rubric)
    paths: list[Path] = []
    for item in map(Path, submissions):
        paths += list_submissions(item) if item.is_dir() and (class_folder or is_class_folder(item)) else [item]
    if not paths:
        raise ConfigError(f"no submissions found in {', '.join(submissions)}")
    try:
        manual = load_overrides(Path(overrides)) if overrides else {}
    except ManifestError as exc:
        raise ConfigError(str(exc)) from None
    if bool(late_policy) != bool(timestamps):
        raise ConfigError("--late-policy and --timestamps go together: give both or neither")
    try:
        policy, handed_in = (load_policy(late_policy), load_timestamps(timestamps)) if late_policy else (None, {})
    except LateError as exc:
        raise ConfigError(f"the late policy cannot be used:\n{exc}") from None
    target = Path(out_dir)
    columns = [TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("grading", total=len(paths))

        def done(report) -> None:
            write_submission(report, target, formats or DEFAULT_FORMATS)
            progress.advance(task)

        cache = None if force else ReportCache(target / ".cache")
        if dask_address:
            reports = grade_on_dask(paths, Path(rubric), dask_address, manual=manual,
                                    sandbox=False if no_sandbox else None, on_done=done)
        else:
            reports = grade_many(paths, assignment, jobs=jobs, manual=manual, sandbox=False if no_sandbox else None,
                                 cache=cache, on_done=done)
    late = apply_policy(reports, policy, handed_in) if policy is not None else None
    chosen = formats or DEFAULT_FORMATS
    write_class(reports, assignment.rubric, target, tuple(f for f in chosen if late is None or f != "gradebook"))
    if late is not None:
        if "gradebook" in chosen:
            write_gradebook(reports, assignment.rubric, target / CLASS_FORMATS["gradebook"][0], late=late)
        missing, strays = unmatched(reports, handed_in)
        if missing:
            console.print(f"[yellow]late policy: no timestamp for {len(missing)} (no penalty):[/] {', '.join(missing)}")
        if strays:
            console.print(f"[yellow]late policy: timestamps that match no submission:[/] {', '.join(strays)}")
        penalised = [f"{name} -{result.penalty:g}" for name, result in late.items() if result.penalty > 0]
        out.print(f"late policy: {len(penalised)} penalised" + (f" ({', '.join(penalised)})" if penalised else ""))
    table = Table(title=f"{assignment.rubric.id}: {len(reports)} submissions")
    for column in ("submission", "score", "status", "seconds"):
        table.add_column(column)
    for report in reports:
        score = f"{report.score:g}/{report.max_score:g}" if report.status == "graded" else "-"
        table.add_row(report.submission, score, report.status if report.status == "graded" else f"[red]{report.status}[/]: {(report.reason or '')[:60]}", f"{report.seconds:.2f}")
    out.print(table)
    graded = [r.score for r in reports if r.status == "graded"]
    if graded:
        mean = sum(graded) / len(graded)
        out.print(f"mean {mean:.2f} / {assignment.rubric.max_points:g} over {len(graded)} graded; "
                  f"{len(reports) - len(graded)} could not be graded. Wrote {target}/")


@main.command("check")
@click.argument("rubric", type=click.Path(exists=True))
@click.argument("submission", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check_command(rubric: str, submission: str, as_json: bool) -> None:
    """Self-check one submission against the public checks (exit 0: all pass, 1: some fail).

    RUBRIC is a rubric file or a student kit folder (``grader bundle``).
    """
    assignment = _load(rubric, public=True)
    report = grade(Path(submission), assignment)
    if as_json:
        out.print_json(report.model_dump_json())
    else:
        print_report(report)
    if report.status != "graded":
        sys.exit(2)
    sys.exit(0 if report.all_public_passed else 1)


def print_report(report) -> None:
    """A friendly table of one report."""
    if report.status != "graded":
        out.print(f"[bold red]Could not grade[/] {report.submission}: {report.reason}")
        return
    table = Table(title=f"{report.submission}: {report.score:g} / {report.max_score:g}")
    for column in ("question", "check", "result", "points", "details"):
        table.add_column(column, overflow="fold")
    style = {"passed": "green", "failed": "red", "error": "red", "pending": "yellow", "not-gradable": "magenta"}
    for question in report.questions:
        for check in question.checks:
            details = "; ".join(x for x in (check.message, check.feedback) if x)
            if check.status != "passed" and check.expected is not None:
                details += f"; expected {json.dumps(check.expected)}, got {json.dumps(check.got)}"
            table.add_row(question.id, check.id, f"[{style[check.status]}]{check.status}[/]", f"{check.score:g}/{check.max_score:g}", details)
    out.print(table)
    for event in report.events:
        out.print(f"[yellow]{event.where}[/] ({event.kind}): {event.message}")


@main.command("validate")
@click.argument("rubric", type=click.Path(exists=True, dir_okay=False))
@click.option("--examples", type=click.Path(exists=True, file_okay=False), help="Example submissions (default: submissions/<rubric id>/).")
@click.option("--jobs", "-j", default=1, show_default=True)
def validate_command(rubric: str, examples: str | None, jobs: int) -> None:
    """Prove a rubric: it parses, its references run, and every example gets its manifest's score."""
    assignment = _load(rubric)
    folder = Path(examples) if examples else Path(rubric).resolve().parent.parent / "submissions" / assignment.rubric.id
    try:
        manifest = load_manifest(folder / "manifest.yaml")
        results = validate_examples(assignment, folder, manifest, jobs=jobs)
    except (ManifestError, RubricError) as exc:
        raise ConfigError(str(exc)) from None
    table = Table(title=f"validate {assignment.rubric.id}: {len(results)} examples")
    for column in ("example", "expected", "got", "ok", "problem"):
        table.add_column(column, overflow="fold")
    for result in results:
        table.add_row(result.name, result.expected, result.got, "[green]yes[/]" if result.ok else "[red]NO[/]", result.problem)
    out.print(table)
    failed = [r for r in results if not r.ok]
    out.print(f"rubric {assignment.rubric.id}: {assignment.rubric.max_points:g} points, references run; "
              f"{len(results) - len(failed)}/{len(results)} examples as the manifest says")
    sys.exit(1 if failed else 0)


@main.command("bundle")
@click.argument("rubric", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Folder for the kit.")
def bundle_command(rubric: str, out_dir: str) -> None:
    """Write a student kit: public checks with precomputed expectations, the sheet, no reference code."""
    try:
        path = bundle(Path(rubric), Path(out_dir))
    except (RubricError, KitError) as exc:
        raise ConfigError(str(exc)) from None
    out.print(f"wrote the student kit to {path}/ (check with: grader check {path} SUBMISSION)")


@main.command("schema")
def schema_command() -> None:
    """Print the rubric JSON Schema (for editor completion)."""
    click.echo(json.dumps(json_schema(), indent=2))


from .ci import ci_command, init_ci_command  # noqa: E402
from .gradescope import gradescope_package_command, gradescope_run_command  # noqa: E402

main.add_command(ci_command)
main.add_command(init_ci_command)
main.add_command(gradescope_package_command)
main.add_command(gradescope_run_command)


if __name__ == "__main__":
    main()
