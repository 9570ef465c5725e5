"""Function checks (grader/checks/function.py), kernel-free, beyond tests/test_function_scoring.py: how the
points of a check are split among cases and conventions, all-or-nothing checks, right values in a
wrong singleton shape, a student's output that cannot be used, what a hidden check keeps to itself, a
kernel that dies, and the reference scribbling on the case's inputs.

Everything runs through that file's process-free ``FakeProcess`` and rubric helpers; expected scores
and messages are worked out here from the rubric (points shared per case), never read back from the code.
"""

from __future__ import annotations

import numpy as np
import pytest

from .test_function_scoring import AFFINE, INSTANCE, REFERENCES, SELECT, Died, FakeProcess, Model, Stuck, run
from grader.checks.scorer import Scorer
from grader.checks.work import StudentWork
from grader.rubric import parse_rubric

HIDDEN = {"points: 3\n": "points: 3\n        visibility: hidden\n"}


def affine(x, w, b):
    return np.asarray(x, dtype=float) * w + b


# --- the points, split per case and per convention --------------------------------------------------

CONVENTIONS = """
id: c
title: Conventions
questions:
  - id: affine
    checks:
      - kind: function
        points: 5
        reference: ref_affine
        convention: "left to right"
        distractors:
          - {call: ref_reversed_affine, message: "right to left (accepted)", credit: 1.0}
          - {call: ref_twice, message: "You doubled it.", credit: 0.5}
        cases:
          - {args: [[1.0, 2.0, 3.0], 2.0, 1.0]}
          - {args: [[1.0, 2.0, 1.0], 2.0, 1.0]}
          - {args: [[1.0, 2.0, 3.0], 0.5, 0.5]}
          - {args: [[4.0, 5.0, 6.0], 1.0, 0.0]}
          - {args: [[0.0, 1.0, 2.0], 1.0, 1.0]}
"""


def by_case(answers):
    """A student whose answer on each case of CONVENTIONS is ``answers[i](right answer)``."""
    inputs = [((1.0, 2.0, 3.0), 2.0, 1.0), ((1.0, 2.0, 1.0), 2.0, 1.0), ((1.0, 2.0, 3.0), 0.5, 0.5),
              ((4.0, 5.0, 6.0), 1.0, 0.0), ((0.0, 1.0, 2.0), 1.0, 1.0)]

    def student(x, w, b):
        i = inputs.index((tuple(np.asarray(x, dtype=float).tolist()), float(w), float(b)))
        return answers[i](affine(x, w, b))
    return student


def test_convention_credit_splits_the_points_by_the_convention_each_case_used():
    right, reversed_, doubled, wrong = (lambda y: y), (lambda y: y[::-1]), (lambda y: 2 * y), (lambda y: y + 100)
    # case 1 right (the standard convention: reversing would change it), case 2 right on a palindromic
    # output (no convention can be named), case 3 the accepted alternative, case 4 doubled (half credit), case 5 wrong
    check = run(CONVENTIONS, {"affine": by_case([right, right, reversed_, doubled, wrong])})[0]["affine"]
    assert check.score == pytest.approx(5 * (1 + 1 + 1 + 0.5 + 0) / 5)
    assert check.convention_credit == pytest.approx({"standard": 1.0, "right to left (accepted)": 1.0, "": 1.0 + 0.5 + 0.0})
    assert check.status == "failed" and check.mistake == "You doubled it." and check.note == "right to left (accepted)"
    assert check.message.startswith("3/5 cases passed (3.5 of 5 points, per case); case 4 affine([4., 5., 6.], 1., 0.): values differ")
    assert check.message.endswith(". You doubled it.")
    assert check.got == [8.0, 10.0, 12.0] and check.expected == [4.0, 5.0, 6.0]


def test_convention_credit_of_a_right_answer_names_the_standard_only_where_an_alternative_differs():
    right = lambda y: y  # noqa: E731
    check = run(CONVENTIONS, {"affine": by_case([right] * 5)})[0]["affine"]
    assert check.status == "passed" and check.score == 5 and check.note == "left to right"
    assert check.convention_credit == pytest.approx({"standard": 4.0, "": 1.0})  # case 2's output reads the same reversed
    alternative = run(CONVENTIONS, {"affine": by_case([lambda y: y[::-1]] * 5)})[0]["affine"]
    assert alternative.status == "passed" and alternative.score == 5 and alternative.mistake is None
    assert alternative.convention_credit == pytest.approx({"right to left (accepted)": 4.0, "": 1.0})  # case 2: either


# --- all or nothing -------------------------------------------------------------------------------

ALL_OR_NOTHING = {"points: 3\n": "points: 3\n        partial: all_or_nothing\n"}


def test_an_all_or_nothing_check_gives_its_points_only_when_every_case_passes():
    check = run(AFFINE, {"affine": affine}, **ALL_OR_NOTHING)[0]["affine"]
    assert (check.status, check.score, check.message) == ("passed", 3.0, "4/4 cases passed")

    def wrong_on_the_second(x, w, b):  # case 2 is the only one with w == 0.5 (the random ones draw w from [1, 2))
        return affine(x, w, b) + (1.0 if w == 0.5 else 0.0)

    check = run(AFFINE, {"affine": wrong_on_the_second}, **ALL_OR_NOTHING)[0]["affine"]
    assert check.status == "failed" and check.score == 0.0
    assert check.message.startswith("3/4 cases passed (all cases must pass); case 2 affine([1., 2., 3.], 0.5, b=0.5): values differ")
    per_case = run(AFFINE, {"affine": wrong_on_the_second})[0]["affine"]  # the same answer, points shared per case
    assert per_case.score == pytest.approx(3 * 3 / 4)
    assert per_case.message.startswith("3/4 cases passed (2.25 of 3 points, per case); case 2 affine([1., 2., 3.], 0.5, b=0.5): ")


# --- right values, a singleton axis too many ---------------------------------------------------------

SINGLETON = """
id: s
title: Singleton axes
questions:
  - id: affine
    checks:
      - kind: function
        points: 2
        reference: ref_affine
        cases:
          - {args: [[1.0, 2.0, 3.0], 2.0, 1.0]}
          - {args: [[1.0, 2.0, 3.0], 0.5, 0.5]}
          - {args: [[4.0, 5.0, 6.0], 1.0, 0.0]}
          - {args: [[0.0, 1.0, 2.0], 1.0, 1.0]}
"""


def one_row_on_the_second_wrong_on_the_third(x, w, b):
    y = affine(x, w, b)
    if w == 0.5:
        return y.reshape(1, -1)  # the right values as a (1, 3) row
    return y + 1 if float(np.asarray(x)[0]) == 4.0 else y


def test_right_values_in_a_singleton_shape_earn_the_checks_singleton_credit_and_a_note():
    rubric = SINGLETON.replace("points: 2\n", "points: 2\n        singleton_axes: 0.5\n")
    check = run(rubric, {"affine": one_row_on_the_second_wrong_on_the_third})[0]["affine"]
    assert check.score == pytest.approx(2 * (1 + 0.5 + 0 + 1) / 4) and check.status == "failed"
    assert check.convention_credit == pytest.approx({"": 2 * (1 + 0 + 1) / 4, "standard": 2 * 0.5 / 4})
    assert check.note.startswith("the values are right, but the shape is (1, 3) where (3,) is expected")
    assert check.message.startswith("2/4 cases passed (1.25 of 2 points, per case); case 2 affine([1., 2., 3.], 0.5, 0.5): "
                                    "the values are right, but the shape is (1, 3)")


def test_without_singleton_credit_a_singleton_shape_is_simply_wrong():
    check = run(SINGLETON, {"affine": one_row_on_the_second_wrong_on_the_third})[0]["affine"]
    assert check.score == pytest.approx(2 * 2 / 4) and check.note is None
    assert check.convention_credit == pytest.approx({"": 1.0})
    assert "case 2 affine([1., 2., 3.], 0.5, 0.5): the values are right, but the shape is (1, 3)" in check.message


def test_full_singleton_credit_gives_every_point_and_no_partial_credit_text():
    rubric = SINGLETON.replace("points: 2\n", "points: 2\n        singleton_axes: 1.0\n")
    check = run(rubric, {"affine": lambda x, w, b: affine(x, w, b).reshape(1, -1)})[0]["affine"]
    assert check.score == 2.0 and "point" not in check.message
    assert check.message.startswith("4/4 cases passed; case 1 affine([1., 2., 3.], 2., 1.): the values are right, but the shape")


# --- outputs that cannot be used, and what hidden checks keep to themselves ------------------------


def test_an_output_that_cannot_be_taken_apart_shows_the_expected_part_and_hidden_checks_say_only_that():
    check = run(SELECT, {"pair": lambda x: (0.0,)})[0]["pair"]
    assert check.expected == [2.0, 4.0, 6.0] and check.got == [0.0] and check.score == 0  # ref_pair's [1]['W'] on x = [1, 2, 3]
    hidden = run(SELECT.replace("points: 1\n", "points: 1\n        visibility: hidden\n"), {"pair": lambda x: (0.0,)})[0]["pair"]
    assert hidden.message == "1 of 1 hidden cases failed: the result could not be used"
    assert hidden.got is None and hidden.expected is None and hidden.status == "failed"


class Vanishing(FakeProcess):
    """A process that says the function is there, but whose call finds no such name (the name went away)."""

    def has(self, name, handle=None):
        return True


def test_a_function_gone_by_the_time_it_is_called_is_reported_missing():
    process = Vanishing({}, problems=["a.py, line 2: NameError"])
    scorer = Scorer(parse_rubric(AFFINE), REFERENCES)
    check = scorer.score(StudentWork(process=process))[0].checks[0]
    assert (check.status, check.score, check.feedback) == ("failed", 0.0, "look at b")
    assert check.message == "no function named 'affine' found: a.py, line 2: NameError"
    hidden = Scorer(parse_rubric(AFFINE.replace("points: 3\n", "points: 3\n        visibility: hidden\n")), REFERENCES)
    check = hidden.score(StudentWork(process=Vanishing({}, problems=["a.py, line 2: NameError"])))[0].checks[0]
    assert check.message == "no function named 'affine' found" and check.feedback == "look at b"  # (import text: public only)


def test_a_hidden_check_never_shows_the_students_import_problems():
    check = run(AFFINE, {}, problems=["secret.py, line 1: SyntaxError"], **HIDDEN)[0]["affine"]
    assert check.message == "no function named 'affine' found" and check.status == "failed"


# --- a kernel that dies -----------------------------------------------------------------------------


@pytest.mark.parametrize("exc, hidden_text", [(Died("signal 9"), "the kernel died"), (Stuck(), "timed out")])
def test_a_kernel_lost_on_the_first_case_fails_the_check_the_cases_after_it_did_not_raise(exc, hidden_text):
    def lost(x, w, b):
        raise exc

    check = run(AFFINE, {"affine": lost})[0]["affine"]
    assert check.status == "failed" and check.score == 0  # one case raised; the three after it were never run
    hidden = run(AFFINE, {"affine": lost}, **HIDDEN)[0]["affine"]
    assert hidden.status == "failed" and hidden.message == f"4 of 4 hidden cases failed: {hidden_text}"
    raising = run(AFFINE, {"affine": lambda x, w, b: 1 / 0})[0]["affine"]
    assert raising.status == "error"  # every case ran and raised


# --- the reference may change its inputs: the case keeps its own ------------------------------------

WIPE = """
id: w
title: Wipe
questions:
  - id: total
    checks:
      - kind: function
        points: 1
        reference: ref_sum_then_wipe
        cases: [{args: [[1.0, 2.0, 3.0]]}]
"""


def test_a_failing_case_shows_its_inputs_as_given_although_the_reference_scribbled_on_its_copy():
    check = run(WIPE, {"total": lambda x: float(np.sum(x)) + 1})[0]["total"]
    assert check.message.startswith("0/1 cases passed; case 1 total([1., 2., 3.]): values differ")
    assert check.expected == 6.0 and check.got == 7.0
    by_name = run(WIPE.replace("args: [[1.0, 2.0, 3.0]]", "kwargs: {x: [1.0, 2.0, 3.0]}"), {"total": lambda x: float(np.sum(x)) + 1})
    assert by_name[0]["total"].message.startswith("0/1 cases passed; case 1 total(x=[1., 2., 3.]): values differ")


def ref_model_doubled(params, x):
    return 2 * float(np.dot(params["w"], x))


def test_distractors_see_the_weights_the_reference_scribbled_on():
    rubric = INSTANCE.replace("reference: ref_model", "reference: ref_wipe_params\n"
                              "        distractors: [{call: ref_model_doubled, message: \"doubled\"}]")

    class Doubled(Model):
        def forward(self, x):
            return 2 * float(np.dot(self.params["w"], x))

    check = run(rubric, {"Model": Doubled}, references={"ref_model_doubled": ref_model_doubled})[0]["forward"]
    assert check.score == 0 and check.mistake == "doubled"  # the distractor computed on the drawn weights, not zeros


# --- every case asked in one request per function, whatever comes before it in the rubric -------------


def requests_of(rubric_text: str, namespace: dict):
    """The checks' results and the requests the process got: (the functions called, number of calls) per request."""
    process = FakeProcess(namespace)
    requests, batch = [], process.call_many
    process.call_many = lambda calls, timeout=None: requests.append((",".join(sorted({n for n, _c in calls})), len(calls))) or batch(calls, timeout)
    questions = Scorer(parse_rubric(rubric_text), REFERENCES).score(StudentWork(answers={}, process=process))
    return {c.id: c for q in questions for c in q.checks}, requests, process


MISSING_FIRST = """
id: m
title: A missing function first
given: {x: [1.0, 2.0, 3.0], w: 2.0}
questions:
  - id: gone
    checks:
      - {kind: function, points: 1, reference: ref_affine, cases: [{args: ["$x", "$w", 1.0]}]}
  - id: affine
    checks:
      - {kind: function, points: 1, reference: ref_affine, cases: [{args: ["$x", "$w", 1.0]}, {args: ["$x", "$w", 2.0]}]}
      - {kind: function, points: 1, function: affine, visibility: hidden, reference: ref_affine, cases: [{args: [[5.0], 1.0, 0.0]}]}
"""


def test_a_missing_function_before_the_others_does_not_split_their_request():
    checks, requests, _ = requests_of(MISSING_FIRST, {"affine": affine})
    assert checks["gone"].message == "no function named 'gone' found" and checks["gone"].score == 0
    assert [checks[i].status for i in ("affine.public", "affine.hidden")] == ["passed", "passed"], checks
    assert requests == [("affine", 3)]  # both checks' cases (2 + 1), in one request


TWO_INSTANCE_CHECKS = INSTANCE + """
  - id: again
    checks:
      - kind: function
        points: 1
        function: forward
        instance: {class: Model, args: [3], update: {params: "%params"}}
        reference: ref_model
        reference_args: ["%params"]
        cases:
          - {let: {params: {call: draw_params, args: [3, 3]}}, args: ["$x"]}
"""


def test_the_cases_of_every_check_of_a_class_are_asked_in_one_request():
    # the student's code has the class Model, not a function named forward: it is the class that is looked for
    checks, requests, _ = requests_of(TWO_INSTANCE_CHECKS, {"Model": Model})
    assert [c.status for c in checks.values()] == ["passed", "passed"], [c.message for c in checks.values()]
    assert requests == [("forward", 3)]  # two cases of the first check, one of the second


def test_a_case_asked_again_behind_another_checks_timeout_has_the_rubrics_call_timeout():
    rubric = MISSING_FIRST.replace("given:", "limits: {call_timeout: 7}\ngiven:")

    def stuck_on_b_1(x, w, b):
        if b == 1.0:
            raise Stuck()
        return affine(x, w, b)

    checks, requests, process = requests_of(rubric, {"affine": stuck_on_b_1})
    # one request for the three cases: the first runs out of time, the two after it are not run; the
    # first check keeps them (its own case timed out), the hidden one asks its case again, and passes
    assert requests == [("affine", 3), ("affine", 1)]
    assert checks["affine.public"].score == 0 and checks["affine.hidden"].status == "passed"
    timeouts = [entry[4] for entry in process.log if entry[0] == "call"]
    assert timeouts == [7, 7]  # every call, the one asked again included, with the rubric's call_timeout
