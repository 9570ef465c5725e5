"""The parts every check kind shares (grader/checks/results.py), mistake detectors (distractors.py) and
manual points (manual.py), tested directly: no kernel, no files.

What a report may show of a value, what hidden checks hide, the messages students read for each kind
of error, and how detectors decide whether they may name a mistake.
"""

from __future__ import annotations

import numpy as np

from grader.checks.compare import Comparison, comparator
from grader.checks.distractors import Detection, detect, distinguishable, summary, told_apart
from grader.checks.manual import score_manual
from grader.checks.outcome import Outcome
from grader.checks.results import (HIDDEN_FAILURE, MAX_SHOWN, base_result, error_text, failed, passed, plain, short, shown,
                                   unanswered, with_mistake)
from grader.rubric import Distractor, ManualCheck, Tolerance, ValueCheck

WRONG = Comparison(False, "values differ (largest absolute error 1, relative 0.5)", 1.0, 0.5, None)
RIGHT = Comparison(True, "matches", 0.001, 0.0005, None)


def value_check(**fields) -> ValueCheck:
    check = ValueCheck(**{"kind": "value", "points": 2, "expected": 1.0, **fields})
    object.__setattr__(check, "id", fields.get("id", "q"))
    return check


# --- the base of every result -----------------------------------------------------------------------


def test_base_result_is_a_failed_zero_with_the_checks_tolerance():
    base = base_result(value_check(tolerance=Tolerance(rtol=0.25, atol=0.5), visibility="hidden"))
    assert base.model_dump(exclude_defaults=True) == dict(id="q", kind="value", visibility="hidden", status="failed",
                                                          score=0.0, max_score=2.0, rtol=0.25, atol=0.5)
    gradient = base_result(value_check(metric="rel_error", threshold=1e-7))
    assert (gradient.rtol, gradient.atol, gradient.threshold) == (None, None, 1e-7)  # rel_error: a threshold, no tolerance
    manual = base_result(ManualCheck(kind="manual", points=3, id="m"))
    assert (manual.kind, manual.max_score, manual.rtol, manual.atol, manual.threshold) == ("manual", 3.0, None, None, None)


def test_passed_and_failed_results_show_values_on_public_checks_only():
    values = dict(got=[1.0], expected=[1.5])
    public, hidden = base_result(value_check()), base_result(value_check(visibility="hidden"))
    ok = passed(public, RIGHT, "well done", values)
    assert ok.model_dump(include={"status", "score", "message", "feedback", "note", "got", "expected", "max_abs_error",
                                  "max_rel_error", "rel_error"}) == dict(
        status="passed", score=2.0, message="correct", feedback="well done", note=None, got=[1.0], expected=[1.5],
        max_abs_error=0.001, max_rel_error=0.0005, rel_error=None)
    noted = passed(public, RIGHT, None, values, note="the other convention")
    assert noted.message == "correct (the other convention)" and noted.note == "the other convention"
    quiet = passed(hidden, RIGHT, "well done", values)
    assert (quiet.status, quiet.score, quiet.message, quiet.got, quiet.expected, quiet.max_abs_error, quiet.max_rel_error) == \
        ("passed", 2.0, "correct", None, None, None, None)
    bad = failed(public, WRONG, "look at the bias", values)
    assert (bad.status, bad.score, bad.message, bad.feedback, bad.got, bad.expected, bad.max_abs_error, bad.max_rel_error) == \
        ("failed", 0.0, WRONG.message, "look at the bias", [1.0], [1.5], 1.0, 0.5)
    secret = failed(hidden, WRONG, "look at the bias", values)
    assert (secret.status, secret.message, secret.feedback, secret.got, secret.expected, secret.max_abs_error) == \
        ("failed", HIDDEN_FAILURE, "look at the bias", None, None, None)
    assert HIDDEN_FAILURE == "does not match on the hidden inputs"
    assert with_mistake(public, WRONG, "You forgot the bias.") == f"{WRONG.message}. You forgot the bias."
    assert with_mistake(hidden, WRONG, "You forgot the bias.") == "does not match on the hidden inputs. You forgot the bias."


def test_an_unanswered_check_says_missing_or_why_it_could_not_be_read():
    base = base_result(value_check())
    missing = unanswered(base, Outcome(missing=True), "answer 'loss'", "hint")
    assert (missing.status, missing.score, missing.message, missing.feedback) == ("failed", 0.0, "no answer 'loss' found", "hint")
    broken = unanswered(base, Outcome(error={"type": "Unreadable", "message": "answers.yaml:3: loss: could not read"}), "x", "hint")
    assert (broken.status, broken.message, broken.feedback) == ("error", "answers.yaml:3: loss: could not read", "hint")
    raised = unanswered(base_result(value_check(visibility="hidden")), Outcome(error={"type": "NameError", "message": "m"}), "x", None)
    assert (raised.status, raised.message) == ("error", "raised an exception")  # a hidden check: no name of the student's


def test_error_texts_for_each_kind_of_error():
    where = {"file": "conv1d.py", "line": 7, "code": "return x @ w"}
    assert error_text({"type": "ValueError", "message": "bad shape", "where": where}, "public") == \
        "raised ValueError: bad shape (conv1d.py, line 7: return x @ w)"
    assert error_text({"type": "ValueError", "message": "bad shape", "where": where}, "hidden") == "raised an exception"
    for kind, said in (("Timeout", "timed out"), ("BudgetExceeded", "timed out"), ("KernelDied", "the kernel died"),
                       ("Unreadable", "the answer could not be read"), ("x=1.30;w=-0.98", "raised an exception")):
        assert error_text({"type": kind, "message": "secret 1.30"}, "hidden") == said  # a fixed vocabulary
    assert error_text({"type": "ValueError", "message": "bad shape"}, "public") == "raised ValueError: bad shape"
    assert error_text({"type": "ValueError", "message": "bad", "where": {"file": "a.py", "line": None}}, "public") == "raised ValueError: bad"
    assert error_text({"type": "KeyError"}, "public") == "raised KeyError: "
    assert error_text({"message": "boom"}, "public") == "raised Error: boom"
    assert error_text({}, "hidden") == "raised an exception"
    assert error_text({"type": "Timeout", "message": "after 10 s"}, "public") == "did not finish within the time limit"
    assert error_text({"type": "Timeout"}, "hidden") == "timed out"
    assert error_text({"type": "KernelDied", "message": "signal 11"}, "hidden") == "the kernel died"
    assert error_text({"type": "KernelDied"}, "public") == "the kernel died: "
    assert error_text({"type": "Unreadable", "message": "a.yaml:1: x: too deep"}, "hidden") == "the answer could not be read"
    assert error_text({"type": "Unreadable"}, "public") == ""


# --- what a report may hold of a value --------------------------------------------------------------


def test_plain_turns_numpy_and_non_finite_values_into_json_data():
    assert plain(np.array([[1.5, 2.0]])) == [[1.5, 2.0]] and type(plain(np.array([1.5]))[0]) is float
    assert plain(np.array([1, 2])) == [1, 2] and type(plain(np.array([1]))[0]) is int
    assert plain(np.array([1.0, np.nan, -np.inf])) == [1.0, "nan", "-inf"]
    assert plain(np.array([[np.inf]])) == [["inf"]]
    assert plain(np.float32(0.5)) == 0.5 and type(plain(np.float32(0.5))) is float
    assert plain(np.float64(np.nan)) == "nan" and plain(np.int64(3)) == 3 and type(plain(np.int64(3))) is int
    assert plain((1, (np.int64(2), [np.float64(3.5)]))) == [1, [2, [3.5]]]
    assert plain({1: np.array([1.0]), "b": {"c": float("inf")}}) == {"1": [1.0], "b": {"c": "inf"}}
    assert plain(float("nan")) == "nan" and plain(2.5) == 2.5 and plain("text") == "text" and plain(None) is None
    assert plain(True) is True



def test_complex_values_are_shown_as_text_and_other_arrays_as_lists():
    # a complex answer (np.fft's, say) crosses the wire as a complex array: JSON has no complex numbers
    assert plain(np.array([1 + 2j, -0.5j])) == [str(1 + 2j), str(-0.5j)] == ["(1+2j)", "(-0-0.5j)"]
    assert plain(np.array([[1 + 0j]], dtype=np.complex64)) == [[str(1 + 0j)]]
    assert plain(np.complex128(3 - 1j)) == "(3-1j)" and plain(2j) == "2j"
    assert plain(np.array([complex(np.inf, 1)])) == [str(complex(np.inf, 1))]
    assert shown(np.array([1 + 2j])) == ["(1+2j)"]
    # arrays that are not numbers are listed as they are, not tested for finiteness (which they do not have)
    assert plain(np.array(["a", "bc"])) == ["a", "bc"] and plain(np.array([b"x"])) == [b"x"]

def test_values_up_to_max_shown_elements_are_shown_in_full():
    assert MAX_SHOWN == 10_000
    # an array counts its elements plus itself; a list its items plus itself
    assert shown(np.zeros(MAX_SHOWN - 1)) == [0.0] * (MAX_SHOWN - 1)
    assert shown(np.zeros(MAX_SHOWN)) == "[0., 0., 0., ..., 0., 0., 0.] (too large to show in full)"
    assert shown([1] * (MAX_SHOWN - 1)) == [1] * (MAX_SHOWN - 1)
    assert shown([1] * MAX_SHOWN) == "[1, 1, 1, ..., 1, 1, 1] (too large to show in full)"
    assert shown({"a": [0] * 4999, "b": [0] * 4998}) == {"a": [0] * 4999, "b": [0] * 4998}  # 1 + 5000 + 4999 elements
    big = shown({"a": [0] * 4999, "b": [0] * 4999})
    assert isinstance(big, str) and big.endswith(" (too large to show in full)") and big.startswith("{'a': [0, 0, 0")
    assert shown([np.zeros(5000), np.zeros(4997)]) == [[0.0] * 5000, [0.0] * 4997]  # 1 + 5001 + 4998
    assert isinstance(shown([np.zeros(5000), np.zeros(4998)]), str)
    assert shown(3.5) == 3.5 and shown(np.float64(np.inf)) == "inf"


def test_short_excerpts():
    assert short(np.arange(20.0)) == "[ 0., 1., 2., ..., 17., 18., 19.]"
    assert short([1.23456789, 2]) == "[1.2346, 2. ]"
    assert short(np.array([[1, 2], [3, 4]])) == "[[1, 2], [3, 4]]"
    assert short(7) == "7"
    assert short("a string") == "'a string'" and short({"k": 1}) == "{'k': 1}"
    assert short([[1, 2], [3]]) == "[[1, 2], [3]]"  # ragged: numpy refuses it, so its repr
    long = short("x" * 200)
    assert len(long) == 120 and long == ("'" + "x" * 199)[:117] + "..."
    assert len(short("x" * 118)) == 120 and short("x" * 118) == "'" + "x" * 118 + "'"
    assert short("x" * 119) == ("'" + "x" * 119)[:117] + "..."  # a repr of 121 characters is cut
    assert short(np.arange(12)) == "[ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]"  # up to 12 elements in full
    assert short(np.arange(13)) == "[ 0, 1, 2, ..., 10, 11, 12]"


# --- distractors ------------------------------------------------------------------------------------


SAME = comparator(value_check(tolerance=Tolerance(rtol=0.0, atol=1e-9)))
FLIP = Distractor(call="flip", args=[], message="You flipped the kernel.", credit=0.25)
HALF = Distractor(call="half", args=[], message="0.5 * reg convention (accepted)", credit=1.0)
NEAR = Distractor(call="near", args=[], message="Nearly accepted.", credit=0.999)


def test_a_detection_carries_the_distractors_message_and_credit():
    assert (Detection(FLIP).message, Detection(FLIP).credit, Detection(FLIP).accepted) == ("You flipped the kernel.", 0.25, False)
    assert Detection(HALF).accepted and not Detection(NEAR).accepted


def test_detect_names_the_first_matching_distractor_that_differs_from_the_truth():
    truth = np.array([1.0, 2.0])
    assert distinguishable(np.array([2.0, 1.0]), truth, SAME) and not distinguishable(truth.copy(), truth, SAME)
    found = detect([2.0, 1.0], truth, [(FLIP, lambda: np.array([2.0, 1.0]))], SAME)
    assert found == Detection(FLIP)
    assert detect([3.0, 3.0], truth, [(FLIP, lambda: np.array([2.0, 1.0]))], SAME) is None  # matches no distractor
    # a distractor equal to the truth here makes no claim, even though the answer matches it
    assert detect(truth, truth, [(FLIP, lambda: truth.copy())], SAME) is None
    # the first that matches wins; a failing one is skipped, not fatal
    candidates = [(NEAR, lambda: 1 / 0), (FLIP, lambda: np.array([2.0, 1.0])), (HALF, lambda: np.array([2.0, 1.0]))]
    assert detect([2.0, 1.0], truth, candidates, SAME) == Detection(FLIP)
    assert detect([2.0, 1.0], truth, list(reversed(candidates)), SAME) == Detection(HALF)
    computed = []
    detect([2.0, 1.0], truth, [(FLIP, lambda: computed.append("flip") or np.array([2.0, 1.0])),
                               (HALF, lambda: computed.append("half") or np.array([2.0, 1.0]))], SAME)
    assert computed == ["flip"]  # nothing after the match is computed


def test_told_apart_looks_at_accepted_alternatives_only():
    truth = np.array([1.0, 2.0])
    other = lambda: np.array([1.0, 3.0])  # noqa: E731
    assert told_apart(truth, [(HALF, other)], SAME)
    assert not told_apart(truth, [(HALF, lambda: truth.copy())], SAME)  # the same numbers: nothing to tell apart
    assert not told_apart(truth, [(FLIP, other), (NEAR, other)], SAME)  # not accepted alternatives
    assert told_apart(truth, [(HALF, lambda: 1 / 0), (HALF, other)], SAME)  # a failing one is skipped
    assert not told_apart(truth, [(HALF, lambda: 1 / 0)], SAME)
    assert told_apart(truth, [(HALF, lambda: truth.copy()), (HALF, other)], SAME)
    assert not told_apart(truth, [], SAME)
    assert told_apart(truth, [(FLIP, other), (HALF, other)], SAME)  # a mistake detector first does not stop the search


def test_summary_names_each_mistake_once_in_order():
    assert summary([]) is None
    assert summary([Detection(FLIP)]) == "You flipped the kernel."
    assert summary([Detection(FLIP), Detection(HALF), Detection(FLIP)]) == \
        "You flipped the kernel.; 0.5 * reg convention (accepted)"


# --- manual points ----------------------------------------------------------------------------------


def test_manual_points_come_by_check_id_then_question_id_and_are_clamped():
    check = ManualCheck(kind="manual", points=2, id="why.manual")
    pending = score_manual(check, "why", {})
    assert (pending.status, pending.score, pending.max_score, pending.message) == ("pending", 0.0, 2.0, "awaiting a TA's grading")
    assert score_manual(check, "why", {"other": 2}).status == "pending"
    by_question = score_manual(check, "why", {"why": 1.5})
    assert (by_question.status, by_question.score, by_question.message) == ("failed", 1.5, "graded by a TA")
    by_check = score_manual(check, "why", {"why.manual": 2, "why": 0.5})
    assert (by_check.status, by_check.score) == ("passed", 2.0)
    commented = score_manual(check, "why", {"why": (1.0, "half the story")})
    assert (commented.score, commented.message) == (1.0, "graded by a TA: half the story")
    assert score_manual(check, "why", {"why": (1.0, "")}).message == "graded by a TA"
    assert score_manual(check, "why", {"why": 5}).score == 2.0 and score_manual(check, "why", {"why": 5}).status == "passed"
    assert score_manual(check, "why", {"why": -1}).score == 0.0
    assert score_manual(check, "why", {"why": 0}).status == "failed"
    assert score_manual(check, "why", {"why": "1.25"}).score == 1.25
