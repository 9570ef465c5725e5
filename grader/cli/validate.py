"""``grader validate``: prove a rubric (it parses, its references run, every example scores as its manifest says)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from ..checks.scorer import Scorer
from ..errors import ExpressionError, ManifestError, ReferenceError_, RubricError
from ..manifest import load_manifest, validate_examples
from ..margins import distractor_distances, requirement_margins
from .common import ConfigError, load, out


@click.command("validate")
@click.argument("rubric", type=click.Path(exists=True, dir_okay=False))
@click.option("--examples", type=click.Path(exists=True, file_okay=False), help="Example submissions (default: submissions/<rubric id>/).")
@click.option("--no-examples", is_flag=True, help="Only parse the rubric and run its references (before any example exists).")
@click.option("--jobs", "-j", default=1, show_default=True)
def validate_command(rubric: str, examples: str | None, no_examples: bool, jobs: int) -> None:
    """Prove a rubric: it parses, its references run, and every example gets its manifest's score."""
    assignment = load(rubric)
    if no_examples:
        try:
            Scorer(assignment.rubric, assignment.functions).precompute()
        except (ExpressionError, ReferenceError_) as exc:
            raise ConfigError(f"{rubric}: a reference call fails: {exc}") from None
        out.print(f"rubric {assignment.rubric.id}: {assignment.rubric.max_points:g} points, references run (examples not checked)")
        return
    folder = Path(examples) if examples else Path(rubric).resolve().parent.parent / "submissions" / assignment.rubric.id
    if not (folder / "manifest.yaml").is_file():
        raise ConfigError(f"{folder / 'manifest.yaml'}: no manifest of example submissions (give --examples FOLDER, "
                          "or check the rubric alone with --no-examples)")
    try:
        manifest = load_manifest(folder / "manifest.yaml")
        results = validate_examples(assignment, folder, manifest, jobs=jobs)
    except (ManifestError, RubricError) as exc:
        raise ConfigError(str(exc)) from None
    # the example, score and ok columns keep one line each; the problem takes the rest of the width
    names = min(max([len("example"), *(len(r.name) for r in results)]), max(12, out.width // 4))
    table = Table(title=f"validate {assignment.rubric.id}: {len(results)} examples")
    table.add_column("example", no_wrap=True, overflow="ellipsis", width=names)
    for column in ("expected", "got", "ok"):
        table.add_column(column, no_wrap=True, overflow="ellipsis", max_width=18)
    table.add_column("problem", overflow="fold", ratio=1)
    for result in results:
        table.add_row(escape(result.name), escape(result.expected), escape(result.got),
                      "[green]yes[/]" if result.ok else "[red]NO[/]", escape(result.problem))
    out.print(table)
    _print_margins(assignment, results)
    failed = [r for r in results if not r.ok]
    out.print(f"rubric {assignment.rubric.id}: {assignment.rubric.max_points:g} points, references run; "
              f"{len(results) - len(failed)}/{len(results)} examples as the manifest says")
    sys.exit(1 if failed else 0)


def _print_margins(assignment, results) -> None:
    """How far the examples sit from each training threshold, and each distractor from the right answer."""
    margins = [m for r in results if r.report is not None for m in requirement_margins(assignment, r.name, r.report)]
    if margins:
        out.print("[bold]training requirements[/] (margin: how far the measured figures are from failing; negative: fails by that much)")
        for m in sorted(margins, key=lambda m: (m.check_id, m.margin)):
            verdict = "met" if m.met else "not met"
            out.print(f"  {m.check_id}  {escape(m.example)}: {verdict}, margin {m.margin:+.4g}  ({escape(m.require)})")
    distances = distractor_distances(assignment)
    if distances:
        out.print("[bold]distractors[/] (on the rubric's cases: told apart from the right answer on how many, the smallest difference)")
        for d in distances:
            smallest = f", smallest difference {d.smallest:.3g}" if d.smallest is not None else ""
            warn = "  [yellow]never told apart: it can name nothing[/]" if d.told_apart == 0 else ""
            out.print(f"  {d.check_id}: {d.told_apart} of {d.cases} cases{smallest}: {escape(d.message[:70])}{warn}")
