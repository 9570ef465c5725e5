"""``junit.xml``: one ``<testcase>`` per check, for CI systems (GitHub Actions, GitLab, Jenkins).

``classname`` is the question id and ``name`` the check id. A failed check has a ``<failure>`` whose
``message`` is the check's message; an error (the student's code crashed, a reference could not be
evaluated) an ``<error>``; a manual check still waiting for a TA is ``<skipped>``. Like every
student-facing report, a hidden check shows its score and its generic message only: expected values
and the student's values are added for public checks alone.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from ..escaping import xml as clean
from ..report import CheckResult, Report


def check_details(check: CheckResult, limit: int = 200) -> str:
    """The check's message and feedback, with expected and actual values for public checks only (a
    follow-through row: what it was marked against, and the right answer). Sentences joined by "; "."""
    parts = [check.message or check.status]
    if check.feedback:
        parts.append(check.feedback)
    if check.visibility == "public" and check.follow_through and check.true_value is not None:
        parts.append(f"marked against {_value(check.expected, limit)} (from your earlier answers), got "
                     f"{_value(check.got, limit)}; the right answer is {_value(check.true_value, limit)}")
    elif check.visibility == "public" and check.status != "passed" and check.expected is not None:
        parts.append(f"expected {_value(check.expected, limit)}, got {_value(check.got, limit)}")
    return "; ".join(part.rstrip(". ") for part in parts if part)


def _value(value, limit: int) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def failing(check: CheckResult) -> bool:
    """A check that makes a CI run fail: failed or errored (a manual check waiting for a TA does not)."""
    return check.status in ("failed", "error", "not-gradable")


def render_junit(report: Report) -> str:
    """The report as a JUnit XML document (a ``<testsuites>`` holding one ``<testsuite>``)."""
    checks = [(q, c) for q in report.questions for c in q.checks]
    counts = {"tests": len(checks), "failures": sum(c.status == "failed" for _, c in checks),
              "errors": sum(c.status in ("error", "not-gradable") for _, c in checks),
              "skipped": sum(c.status == "pending" for _, c in checks)}
    if report.status != "graded":
        counts = {"tests": 1, "failures": 0, "errors": 1, "skipped": 0}
    attrs = {key: str(value) for key, value in counts.items()}
    suites = ET.Element("testsuites", {"name": f"dl-grader {report.rubric}", **attrs, "time": f"{report.seconds:.3f}"})
    suite = ET.SubElement(suites, "testsuite", {"name": clean(f"{report.rubric}: {report.submission}"), **attrs,
                                                "time": f"{report.seconds:.3f}", "timestamp": report.graded_at})
    properties = ET.SubElement(suite, "properties")
    for name, value in (("rubric", report.rubric), ("submission", report.submission), ("status", report.status),
                        ("score", f"{report.score:g}"), ("max_score", f"{report.max_score:g}"),
                        ("late_penalty", f"{report.late.penalty:g}" if report.late else "0"), ("final_score", f"{report.final_score:g}"),
                        ("grader_version", report.grader_version)):
        ET.SubElement(properties, "property", {"name": name, "value": clean(str(value))})
    if report.status != "graded":
        case = ET.SubElement(suite, "testcase", {"classname": report.rubric, "name": "grading", "time": f"{report.seconds:.3f}"})
        error = ET.SubElement(case, "error", {"message": clean(f"could not be graded: {report.reason or ''}"[:1000]), "type": "not-gradable"})
        error.text = clean(report.reason or "")
        return _serialise(suites)
    for question, check in checks:
        case = ET.SubElement(suite, "testcase", {"classname": clean(question.id), "name": clean(check.id),
                                                 "time": f"{check.seconds or 0:.3f}"})
        case_properties = ET.SubElement(case, "properties")
        for name, value in (("score", f"{check.score:g}"), ("max_score", f"{check.max_score:g}"),
                            ("visibility", check.visibility), ("kind", check.kind)):
            ET.SubElement(case_properties, "property", {"name": name, "value": value})
        if check.status == "passed":
            continue
        tag = {"failed": "failure", "pending": "skipped"}.get(check.status, "error")
        element = ET.SubElement(case, tag, {"message": clean(check.message or check.status), "type": check.status})
        element.text = clean(f"{check_details(check, limit=2000)}\npoints: {check.score:g}/{check.max_score:g}")
    if report.events:
        err = ET.SubElement(suite, "system-err")
        err.text = clean("\n".join(f"{e.where} ({e.kind}): {e.message}" for e in report.events))
    return _serialise(suites)


def _serialise(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(report: Report, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_junit(report), encoding="utf-8")
    return path
