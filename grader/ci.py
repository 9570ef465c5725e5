"""Grading on every push: ``grader ci`` for CI runners and ``grader init-ci`` for a student repository.

``grader ci RUBRIC_OR_KIT SUBMISSION`` grades one submission and speaks CI:

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

import base64
import json
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import click

from .report import CheckResult, QuestionResult, Report
from .reporters.json_report import write_json
from .reporters.junit import check_details, failing, write_junit

_ICON = {"passed": "✅", "failed": "❌", "error": "💥", "not-gradable": "⚠️", "pending": "⏳"}


# --- GitHub workflow commands ------------------------------------------------------------------

def escape_data(text: str) -> str:
    """Escape the message part of a workflow command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (``title=...``) of a workflow command."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(kind: str, title: str, message: str) -> str:
    return f"::{kind} title={escape_property(title)}::{escape_data(message)}"


def check_title(question: QuestionResult, check: CheckResult) -> str:
    name = question.id if check.id == question.id else f"{question.id} / {check.id}"
    return f"{name} ({check.score:g}/{check.max_score:g} points)"


def points_line(report: Report) -> str:
    """The line GitHub Classroom reads: ``Points 11/16``."""
    return f"Points {report.score:g}/{report.max_score:g}"


def annotations(report: Report) -> list[str]:
    """Error annotations for failed checks, then GitHub Classroom's two notices."""
    if report.status != "graded":
        return [annotation("error", "Could not grade", f"{report.submission}: {report.reason or 'unknown reason'}")]
    lines = [annotation("error", check_title(q, c), check_details(c)) for q in report.questions for c in q.checks if failing(c)]
    lines.append(annotation("notice", "Autograding complete", points_line(report)))
    lines.append(annotation("notice", "Autograding report", json.dumps({"totalPoints": report.score, "maxPoints": report.max_score})))
    return lines


def summary_markdown(report: Report) -> str:
    """The job summary: the score and one row per check."""
    if report.status != "graded":
        return (f"## {report.rubric}: {report.submission} could not be graded\n\n"
                f"This is not a judgement of the work. Reason: {_cell(report.reason or 'unknown')}\n\n")
    lines = [f"## {report.rubric}: {report.submission}: {report.score:g}/{report.max_score:g} points", "",
             "| | Question | Check | Points | Details |", "|---|---|---|---|---|"]
    for question in report.questions:
        for check in question.checks:
            hidden = " (hidden)" if check.visibility == "hidden" else ""
            lines.append(f"| {_ICON.get(check.status, '')} | {_cell(question.id)} | {_cell(check.id)}{hidden} | "
                         f"{check.score:g}/{check.max_score:g} | {_cell(check_details(check))} |")
    if report.events:
        lines += ["", "<details><summary>While running the code</summary>", ""]
        lines += [f"- **{_cell(e.where)}** ({e.kind}): {_cell(e.message)}" for e in report.events]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n\n"


def _cell(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|").replace("\n", " ")


def classroom_result(report: Report) -> str:
    """GitHub Classroom's runner result (as the autograding-grading-reporter action reads it), base64."""
    tests = [{"name": f"{q.id} / {c.id}", "status": "pass" if c.status == "passed" else "fail" if c.status == "failed" else "error",
              "score": c.score, "message": check_details(c), "line_no": 0, "execution_time": f"{c.seconds or 0:.3f}s"}
             for q in report.questions for c in q.checks]
    failed = [t for t in tests if t["status"] != "pass"]
    status = "error" if report.status != "graded" else "fail" if failed else "pass"
    data = {"version": 1, "status": status, "max_score": report.max_score, "tests": tests}
    return base64.b64encode(json.dumps(data).encode()).decode()


def _append(env_name: str, text: str) -> None:
    target = os.environ.get(env_name)
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text)


# --- grader ci ---------------------------------------------------------------------------------

def stage_submission(submission: Path, exclude: list[Path], into: Path) -> Path:
    """Copy a submission folder without what is not the student's work: dot folders (.git, .github),
    the kit or rubric, and the grader's own outputs (which the grader would read as answers files)."""
    source = submission.resolve()
    excluded = {p.resolve() for p in exclude}

    def ignore(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if n.startswith(".") or n == "__pycache__" or (Path(folder) / n).resolve() in excluded]

    target = into / source.name
    shutil.copytree(source, target, ignore=ignore, symlinks=True)
    return target


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
    from .api import grade
    from .cli import _load

    assignment = _load(rubric, public=public_only)
    path = Path(submission)
    out = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="grader-ci-") as tmp:
        target = path
        if path.is_dir():
            exclude = [Path(rubric), Path(junit_path), out / "report.json"]
            if out.resolve() != path.resolve():
                exclude.append(out)
            target = stage_submission(path, exclude, Path(tmp))
        report = grade(target, assignment, sandbox=False if no_sandbox else None)
    report.path = str(path)
    write_junit(report, Path(junit_path))
    write_json(report, out / "report.json")

    click.echo(f"{report.rubric}: {report.submission}")
    if report.status == "graded":
        for question in report.questions:
            for check in question.checks:
                click.echo(f"  {check.status.upper():8} {check_title(question, check)}: {check_details(check)}")
        for event in report.events:
            click.echo(f"  {event.where} ({event.kind}): {event.message}")
    for line in annotations(report):
        click.echo(line)
    _append("GITHUB_STEP_SUMMARY", summary_markdown(report))
    if report.status != "graded":
        _append("GITHUB_OUTPUT", f"result={classroom_result(report)}\n")
        click.echo(f"could not grade {report.submission}: {report.reason}", err=True)
        sys.exit(2)
    _append("GITHUB_OUTPUT", f"points={report.score:g}\nmax-points={report.max_score:g}\nresult={classroom_result(report)}\n")
    click.echo(points_line(report))
    failed = [c for q in report.questions for c in q.checks if failing(c)]
    sys.exit(1 if failed else 0)


# --- grader init-ci ----------------------------------------------------------------------------

WORKFLOW = """\
# Grades this repository on every push with dl-grader (written by `grader init-ci`).
# The score is in the run's summary, each failed check is an annotation, and junit.xml and
# report.json are kept as the run's artifact. The workflow and job names are the ones GitHub
# Classroom looks for, so the "Points X/Y" notice `grader ci` prints becomes the grade there.
name: Autograding Tests
on:
  push:
  workflow_dispatch:
permissions:
  contents: read
jobs:
  run-autograding-tests:
    name: Grade
    runs-on: ubuntu-latest
    timeout-minutes: {timeout}
    env:
      # The runner is a throw-away VM running the student's own work and the kit holds no
      # secret, so the grader's bubblewrap sandbox is not needed here (resource limits still apply).
      GRADER_SANDBOX: "off"
    steps:
      - name: Check out the work
        uses: actions/checkout@v4
      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: "{python}"
      - name: Install the grader
        id: install
        run: |
          python -m pip install --upgrade pip
          # The CPU build of torch: the GPU build is gigabytes and a runner has no GPU.
          python -m pip install torch --index-url https://download.pytorch.org/whl/cpu
          python -m pip install {install}
      - name: Grade
        id: grade
        run: |
          grader ci {rubric} {submission} --junit {junit} --out {out}
      - name: Keep the reports
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: grading-report
          path: |
            {junit_path}
            {report_path}
          if-no-files-found: ignore
"""


def render_workflow(*, install: str, rubric: str = "kit", submission: str = ".", python: str = "3.11",
                    junit: str = "junit.xml", out: str = "grading", timeout: int = 30) -> str:
    """A GitHub Actions workflow that installs the grader and runs ``grader ci`` on every push."""
    q = shlex.quote
    return WORKFLOW.format(install=q(install), rubric=q(rubric), submission=q(submission), python=python,
                           junit=q(junit), out=q(out), timeout=timeout, junit_path=junit,
                           report_path=f"{out.rstrip('/')}/report.json")


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
    from .cli import ConfigError

    root = Path(repo)
    target = root / workflow_path
    if target.exists() and not force:
        raise ConfigError(f"{target} exists (use --force to overwrite it)")
    if bundle_rubric:
        from .kit import KitError, bundle
        from .rubric import RubricError

        try:
            bundle(Path(bundle_rubric), root / rubric)
        except (RubricError, KitError) as exc:
            raise ConfigError(str(exc)) from None
        click.echo(f"wrote the student kit to {root / rubric}/")
    elif not (root / rubric).exists():
        click.echo(f"note: {root / rubric} does not exist yet; add the kit (grader bundle RUBRIC --out {root / rubric}) "
                   "before the first push", err=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_workflow(install=install, rubric=rubric, submission=submission, python=python), encoding="utf-8")
    click.echo(f"wrote {target}: every push runs `grader ci {rubric} {submission}`")
