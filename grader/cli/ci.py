"""``grader ci`` grades one submission on a CI runner; ``grader init-ci`` sets a student repository up for it.

``grader ci RUBRIC_OR_KIT SUBMISSION`` speaks CI (``grader.reporters.github``, ``junit``):

- ``junit.xml`` (``--junit``): one testcase per check, classname = question id;
- ``report.json`` in ``--out``;
- GitHub workflow commands on stdout: ``::error title=...::message`` for each failed check, and the
  ``Points X/Y`` notice GitHub Classroom reads (``Autograding complete``), besides a plain
  ``Points X/Y`` line;
- a Markdown summary appended to ``$GITHUB_STEP_SUMMARY`` and ``points``, ``max-points`` and
  ``result`` (GitHub Classroom's runner format, base64) appended to ``$GITHUB_OUTPUT``, when set.

Exit codes: 0 every check passed (a manual check waiting for a TA does not count), 1 some check
failed, 2 a configuration error (a bad rubric or kit) or a submission that could not be graded.
Hidden checks show their score and generic message only, as in every student-facing report.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..api import grade
from ..errors import KitError, RubricError
from ..kit import bundle
from ..escaping import one_line
from ..reporters.github import annotations, append_to, classroom_result, points_line, readable_log, summary_markdown
from ..reporters.json_report import write_json
from ..reporters.junit import failing, write_junit
from ..workflow import render_workflow
from .common import ConfigError, load, rubric_problems


@click.command("ci")
@click.argument("rubric", type=click.Path(exists=True))
@click.argument("submission", type=click.Path(exists=True))
@click.option("--junit", "junit_path", default="junit.xml", show_default=True, type=click.Path(dir_okay=False),
              help="Where to write the JUnit XML.")
@click.option("--out", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder for report.json.")
@click.option("--public-only", is_flag=True, help="Grade the public checks only (a kit holds nothing else).")
@click.option("--no-sandbox", is_flag=True, help="Run without bubblewrap (limits only).")
def ci_command(rubric: str, submission: str, junit_path: str, out_dir: str, public_only: bool, no_sandbox: bool) -> None:
    """Grade SUBMISSION in CI: JUnit XML, report.json, GitHub annotations and summary, Points X/Y.

    RUBRIC is a rubric file or a student kit folder (``grader bundle``). Exit 0: every check
    passed; 1: some check failed; 2: a bad rubric or kit, or the submission could not be graded.
    """
    assignment = load(rubric, public=public_only)
    path = Path(submission)
    out = Path(out_dir)
    exclude = [Path(rubric), Path(junit_path), out / "report.json"]
    if out.resolve() != path.resolve():
        exclude.append(out)
    report = grade(path, assignment, sandbox=False if no_sandbox else None, exclude=exclude)
    write_junit(report, Path(junit_path))
    write_json(report, out / "report.json")

    for line in readable_log(report) + annotations(report):
        click.echo(line)
    append_to("GITHUB_STEP_SUMMARY", summary_markdown(report))
    if report.status != "graded":
        append_to("GITHUB_OUTPUT", f"result={classroom_result(report)}\n")
        click.echo(f"could not grade {report.submission}: {one_line(report.reason or '')}", err=True)
        sys.exit(2)
    append_to("GITHUB_OUTPUT", f"points={report.final_score:g}\nmax-points={report.max_score:g}\nresult={classroom_result(report)}\n")
    click.echo(points_line(report))
    failed = [c for q in report.questions for c in q.checks if failing(c)]
    sys.exit(1 if failed else 0)


@click.command("init-ci")
@click.option("--install", "install", required=True,
              help="What pip installs the grader from: a git URL (git+https://github.com/ORG/dl-grader@v0.1.0) "
                   "or a wheel committed to the student repository (tools/dl_grader-0.1.0-py3-none-any.whl).")
@click.option("--kit", "rubric", default="kit", show_default=True,
              help="The student kit folder (or a public rubric), relative to the repository root.")
@click.option("--submission", default=".", show_default=True,
              help="The student's work, relative to the repository root (the kit and dot folders are left out).")
@click.option("--bundle", "bundle_rubric", type=click.Path(exists=True, dir_okay=False),
              help="Also write the student kit for this rubric to --kit (relative to --repo).")
@click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False), help="The student repository.")
@click.option("--out", "workflow_path", default=".github/workflows/grade.yml", show_default=True,
              help="Where to write the workflow, relative to --repo.")
@click.option("--python", default="3.11", show_default=True, help="Python version on the runner.")
@click.option("--force", is_flag=True, help="Overwrite an existing workflow.")
def init_ci_command(install: str, rubric: str, submission: str, bundle_rubric: str | None, repo: str,
                    workflow_path: str, python: str, force: bool) -> None:
    """Write a GitHub Actions workflow that grades a student repository on every push."""
    root = Path(repo)
    target = root / workflow_path
    if target.exists() and not force:
        raise ConfigError(f"{target} exists (use --force to overwrite it)")
    if bundle_rubric:
        try:
            bundle(Path(bundle_rubric), root / rubric)
        except RubricError as exc:
            raise ConfigError(rubric_problems(exc)) from None
        except KitError as exc:
            raise ConfigError(str(exc)) from None
        click.echo(f"wrote the student kit to {root / rubric}/")
    elif not (root / rubric).exists():
        click.echo(f"note: {root / rubric} does not exist yet; add the kit (grader bundle RUBRIC --out {root / rubric}) "
                   "before the first push", err=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_workflow(install=install, rubric=rubric, submission=submission, python=python), encoding="utf-8")
    click.echo(f"wrote {target}: every push runs `grader ci {rubric} {submission}`")
