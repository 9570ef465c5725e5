"""``results.json`` in Gradescope's autograder format, one test per check.

Gradescope's format (https://gradescope-autograders.readthedocs.io/en/latest/specs/): a top-level
``score``, ``execution_time`` (seconds), ``output``, ``stdout_visibility`` and a list of ``tests``,
each with ``name``, ``number``, ``score``, ``max_score``, ``status`` ("passed"/"failed"), ``output``
and ``visibility``. Public checks are ``visible``; hidden checks are ``after_published``, so students
see their score and generic message once grades are published, never expected values (a hidden
check's report carries none). A manual check waiting for a TA has no status and says so.
``stdout_visibility`` is ``hidden``: the autograder's log is for the course staff.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..report import Report
from .junit import check_details

VISIBILITY = {"public": "visible", "hidden": "after_published"}


def render_results(report: Report) -> dict[str, Any]:
    """The report as Gradescope's results.json (a dict, ready for ``json.dump``)."""
    results: dict[str, Any] = {
        "score": round(report.final_score, 6),
        "execution_time": max(0, round(report.seconds)),
        "stdout_visibility": "hidden",
        # Student text is shown as it is, never rendered as Markdown or HTML (Gradescope's default may render it).
        "output_format": "text",
        "test_output_format": "text",
        "extra_data": {"rubric": report.rubric, "status": report.status, "max_score": report.max_score,
                       "raw_score": round(report.score, 6), "late_penalty": report.late.penalty if report.late else 0.0,
                       "grader_version": report.grader_version},
    }
    if report.status != "graded":
        results["score"] = 0.0
        results["output"] = ("This submission could not be graded. This is not a judgement of your work; "
                             f"the course staff has been told.\n\nReason: {report.reason or 'unknown'}")
        results["tests"] = []
        return results
    lines = [f"Score {report.score:g}/{report.max_score:g} ({report.rubric})"]
    if report.late is not None and report.late.penalty:
        lines.append(f"Late ({report.late.note}): -{report.late.penalty:g} points, final {report.late.final:g}/{report.max_score:g}")
    if report.events:
        lines += ["", "While running your code:"] + [f"- {e.where} ({e.kind}): {e.message}" for e in report.events]
    results["output"] = "\n".join(lines)
    tests = []
    for q_number, question in enumerate(report.questions, start=1):
        for c_number, check in enumerate(question.checks, start=1):
            test: dict[str, Any] = {
                "name": f"{question.title or question.id} [{check.id}]",
                "number": f"{q_number}.{c_number}",
                "score": round(check.score, 6),
                "max_score": round(check.max_score, 6),
                "output": check_details(check, limit=500),
                "visibility": VISIBILITY[check.visibility],
                "tags": [question.id, check.kind],
            }
            if check.status == "pending":
                test["output"] = f"Graded by hand. {check.message}".strip()
            else:
                test["status"] = "passed" if check.status == "passed" else "failed"
            tests.append(test)
    results["tests"] = tests
    return results


def write_results(report: Report, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(render_results(report), indent=2), encoding="utf-8")
    return path
