"""Late policies: deadline, grace period, linear decay per hour, cap; timestamps files; the gradebook's
raw, penalty and final columns from ``grader grade --late-policy ... --timestamps ...``."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.grading import not_gradable
from grader.cli import main
from grader.late import LateError, LatePolicy, LateSubmissions, load_policy, load_timestamps
from grader.report import Report

from .conftest import write

CET = dt.timezone(dt.timedelta(hours=1))
DEADLINE = dt.datetime(2026, 3, 1, 23, 59, tzinfo=CET)
POLICY = LatePolicy(DEADLINE, 15, 2, 50)  # 15 minutes grace, then 2 % of the maximum per hour, at most 50 %


def at(**delta) -> dt.datetime:
    return DEADLINE + dt.timedelta(**delta)


def test_no_penalty_before_or_at_the_deadline():
    assert POLICY.penalty(at(days=-3), 12, 16) == 0
    assert POLICY.penalty(DEADLINE, 12, 16) == 0
    assert POLICY.hours_late(at(hours=-1)) == 0


def test_no_penalty_within_the_grace_period():
    assert POLICY.penalty(at(minutes=10), 12, 16) == 0
    assert POLICY.penalty(at(minutes=15), 12, 16) == 0
    assert POLICY.hours_late(at(minutes=15)) == pytest.approx(0.25)


def test_linear_decay_per_hour_after_the_grace_period():
    assert POLICY.penalty(at(minutes=15, hours=1), 12, 16) == pytest.approx(0.32)   # 2 % of 16
    assert POLICY.penalty(at(minutes=15, hours=3), 12, 16) == pytest.approx(0.96)
    assert POLICY.penalty(at(minutes=45), 12, 16) == pytest.approx(0.16)            # half an hour, pro rata
    # the same instant written in another timezone
    utc = at(minutes=15, hours=3).astimezone(dt.timezone.utc)
    assert POLICY.penalty(utc, 12, 16) == pytest.approx(0.96)


def test_the_penalty_is_capped_and_never_more_than_the_raw_score():
    assert POLICY.penalty(at(days=30), 12, 16) == 8              # 50 % of 16
    assert POLICY.penalty(at(days=30), 3, 16) == 3               # final never below zero
    assert LatePolicy(DEADLINE, 0, 10, 100).penalty(at(days=30), 16, 16) == 16


def test_percentages_of_the_raw_score():
    policy = LatePolicy(DEADLINE, 0, 10, 30, percent_of="raw_score")
    assert policy.penalty(at(hours=2), 10, 16) == pytest.approx(2)   # 20 % of 10
    assert policy.penalty(at(days=2), 10, 16) == pytest.approx(3)    # capped at 30 % of 10


def test_times_without_a_timezone_are_refused():
    with pytest.raises(ValueError, match="timezone"):
        POLICY.penalty(dt.datetime(2026, 3, 2, 10, 0), 12, 16)
    with pytest.raises(ValueError, match="timezone"):
        LatePolicy(dt.datetime(2026, 3, 1, 23, 59), 15, 2, 50)


def test_policy_files_are_validated_with_file_and_field(tmp_path):
    good = write(tmp_path / "policy.yaml", "deadline: 2026-03-01T23:59:00+01:00\ngrace_minutes: 15\npercent_per_hour: 2\nmax_percent: 50\n")
    assert load_policy(good) == POLICY
    bad = write(tmp_path / "bad.yaml", "deadline: 2026-03-01T23:59:00\ngrace_minutes: -1\nmax_percent: 150\nper_hour: 2\n")
    with pytest.raises(LateError) as caught:
        load_policy(bad)
    message = str(caught.value)
    for expected in (f"{bad}: deadline: Input should have timezone info", f"{bad}: grace_minutes:", f"{bad}: max_percent:",
                     f"{bad}: per_hour: unknown field"):
        assert expected in message, message
    with pytest.raises(LateError, match="deadline"):
        load_policy(write(tmp_path / "empty.yaml", "grace_minutes: 5\n"))


def test_timestamps_from_yaml_and_csv(tmp_path):
    from_yaml = load_timestamps(write(tmp_path / "t.yaml", "alice: 2026-03-02T10:00:00+01:00\n'bob': '2026-03-02T09:00:00Z'\n"))
    assert from_yaml == {"alice": dt.datetime(2026, 3, 2, 10, tzinfo=CET), "bob": dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)}
    from_csv = load_timestamps(write(tmp_path / "t.csv", "submission,submitted_at\nalice,2026-03-02T10:00:00+01:00\n"))
    assert from_csv == {"alice": dt.datetime(2026, 3, 2, 10, tzinfo=CET)}
    with pytest.raises(LateError, match=r"t2.yaml: carol: Input should have timezone info"):
        load_timestamps(write(tmp_path / "t2.yaml", "carol: 2026-03-02T10:00:00\n"))
    with pytest.raises(LateError, match=r"t3.yaml: dave: a date without a time"):
        load_timestamps(write(tmp_path / "t3.yaml", "dave: 2026-03-02\n"))
    with pytest.raises(LateError, match=r"t2.csv: line 3: eve: .*got 'soon'"):
        load_timestamps(write(tmp_path / "t2.csv", "submission,submitted_at\nalice,2026-03-02T10:00:00Z\neve,soon\n"))
    with pytest.raises(LateError, match="columns submission,submitted_at"):
        load_timestamps(write(tmp_path / "t3.csv", "name,time\nalice,2026-03-02T10:00:00Z\n"))


def test_a_submission_without_a_timestamp_gets_no_penalty_and_is_named(conv1d):
    """Our call: no timestamp means no penalty (a penalty must never come from a guess); the CLI names
    such submissions, and timestamps that match none (typos), so neither goes unnoticed."""
    def graded(name: str, score: float) -> Report:
        return Report(submission=name, path=f"/class/{name}.yaml", rubric="conv1d", score=score, max_score=16, questions=[])

    reports = [graded("alice", 12), graded("bob", 10), not_gradable("carol", Path("/class/carol"), conv1d, "broken")]
    stamps = {"alice.yaml": at(hours=3, minutes=15), "zed": at(hours=1)}
    late = LateSubmissions(POLICY, stamps)
    results = {r.submission: late.apply(r).late for r in reports}
    assert results["alice"].penalty == pytest.approx(0.96) and results["alice"].final == pytest.approx(11.04)
    assert results["bob"].penalty == 0 and results["bob"].final == 10 and results["bob"].note == "no timestamp"
    assert results["carol"] is None  # nothing to penalise
    assert late.unmatched(reports) == (["bob"], ["zed"])


def test_grade_with_a_late_policy_end_to_end(tmp_path, root, conv1d):
    policy = write(tmp_path / "policy.yaml", "deadline: 2026-03-01T23:59:00+01:00\ngrace_minutes: 15\npercent_per_hour: 2\nmax_percent: 50\n")
    stamps = write(tmp_path / "submitted.yaml", "rounded: 2026-03-02T02:14:00+01:00\n"        # 2 h after the grace period
                                                "malformed_value.yaml: 2026-03-01T22:00:00Z\n"  # on time (23:00 CET)
                                                "nobody: 2026-03-01T22:00:00Z\n")
    out = tmp_path / "results"
    folder = root / "submissions" / "conv1d"
    result = CliRunner().invoke(main, ["grade", str(root / "rubrics/conv1d.yaml"), str(folder / "rounded.yaml"),
                                       str(folder / "malformed_value.yaml"), "--out", str(out),
                                       "--late-policy", str(policy), "--timestamps", str(stamps), "--format", "gradebook"])
    assert result.exit_code == 0, result.output
    assert "timestamps that match no submission: nobody" in result.output.replace("\n", " ")
    ids = [q.id for q in conv1d.rubric.questions]
    with (out / "gradebook.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["submission", "total", "max_total", *ids, "raw", "penalty", "final"]
    by_name = {row["submission"]: row for row in rows}
    rounded, on_time = by_name["rounded"], by_name["malformed_value"]
    maximum = conv1d.rubric.max_points
    assert float(rounded["total"]) > 0 and rounded["raw"] == rounded["total"] and float(rounded["max_total"]) == maximum
    assert float(rounded["penalty"]) == pytest.approx(round(0.04 * maximum, 2))          # 2 h x 2 % of the maximum
    assert float(rounded["final"]) == pytest.approx(float(rounded["total"]) - float(rounded["penalty"]))
    assert on_time["raw"] == on_time["final"] == on_time["total"] and on_time["penalty"] == "0"


def test_grade_refuses_a_broken_late_policy_before_grading(tmp_path, root):
    rubric, submission = str(root / "rubrics/conv1d.yaml"), str(root / "submissions/conv1d/rounded.yaml")
    policy = write(tmp_path / "policy.yaml", "deadline: tomorrow\npercent_per_hour: 2\n")
    stamps = write(tmp_path / "submitted.yaml", "rounded: 2026-03-02T02:14:00+01:00\n")
    broken = CliRunner().invoke(main, ["grade", rubric, submission, "--out", str(tmp_path / "r"),
                                       "--late-policy", str(policy), "--timestamps", str(stamps)])
    assert broken.exit_code == 2 and f"{policy}: deadline:" in broken.output.replace("\n", " ")
    alone = CliRunner().invoke(main, ["grade", rubric, submission, "--out", str(tmp_path / "r"), "--late-policy", str(policy)])
    assert alone.exit_code == 2 and "go together" in alone.output
    assert not (tmp_path / "r").exists()
