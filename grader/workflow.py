"""The GitHub Actions workflow ``grader init-ci`` writes into a student repository."""

from __future__ import annotations

import shlex

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
