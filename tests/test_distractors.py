"""Mistake detectors (distractors): they name a mistake where it can be told apart, and only there."""

from __future__ import annotations

import json

import numpy as np
import pytest

from grader import Assignment, RubricError, grade, load_assignment
from grader.checks.compare import comparator
from grader.checks.distractors import detect
from grader.rubric import Distractor, Tolerance, ValueCheck, load_rubric, parse_rubric
from reference.backprop_conv2d import IMAGE_5x5, LAPLACE, SOBEL_X, SOBEL_Y, conv2d, corr2d

from .conftest import write

FLIPPED_MODULE = '''
import numpy as np

def corr2d(image, kernel):
    kernel = np.asarray(kernel, dtype=float)[::-1, ::-1]
    M, N = kernel.shape
    image = np.asarray(image, dtype=float)
    return np.array([[np.sum(image[i:i + M, j:j + N] * kernel) for j in range(image.shape[1] - N + 1)]
                     for i in range(image.shape[0] - M + 1)])
'''


@pytest.fixture(scope="module")
def conv2d_parts(root) -> Assignment:
    """Assignment D without its training question (no training needed to test detectors)."""
    rubric = load_rubric(root / "rubrics" / "backprop_conv2d.yaml")
    rubric = rubric.model_copy(update={"questions": [q for q in rubric.questions if q.id != "cnn"]})
    return load_assignment(rubric)


def answers(tmp_path, **values):
    lines = [f"{name}: {json.dumps(np.asarray(value).tolist())}" for name, value in values.items()]
    return write(tmp_path / "answers.yaml", "\n".join(lines) + "\n")


def right_answers():
    return dict(S_sobel_x=corr2d(IMAGE_5x5, SOBEL_X), S_sobel_y=corr2d(IMAGE_5x5, SOBEL_Y), S_laplace=corr2d(IMAGE_5x5, LAPLACE))


def test_flipped_sobel_answer_names_the_mistake(tmp_path, conv2d_parts):
    values = {**right_answers(), "S_sobel_x": conv2d(IMAGE_5x5, SOBEL_X)}
    report = grade(answers(tmp_path, **values), conv2d_parts)
    sobel = report.check("S_sobel_x")
    assert sobel.score == 0 and sobel.status == "failed"
    assert sobel.mistake and "flipped the kernel" in sobel.mistake and "flipped the kernel" in sobel.message
    assert report.check("S_sobel_y").mistake is None and report.check("S_sobel_y").score == 1


def test_flipped_laplace_is_right_and_no_claim_is_made(tmp_path, conv2d_parts):
    # a student who flips gets the same numbers for the symmetric Laplace kernel: nothing to say
    assert np.array_equal(conv2d(IMAGE_5x5, LAPLACE), corr2d(IMAGE_5x5, LAPLACE))
    values = {**right_answers(), "S_laplace": conv2d(IMAGE_5x5, LAPLACE)}
    laplace = grade(answers(tmp_path, **values), conv2d_parts).check("S_laplace")
    assert laplace.score == 1 and laplace.mistake is None and "flip" not in laplace.message


def test_a_wrong_answer_that_matches_no_distractor_names_nothing(tmp_path, conv2d_parts):
    values = {**right_answers(), "S_sobel_x": corr2d(IMAGE_5x5, SOBEL_X) + 1, "S_laplace": -corr2d(IMAGE_5x5, LAPLACE)}
    report = grade(answers(tmp_path, **values), conv2d_parts)
    assert report.check("S_sobel_x").score == 0 and report.check("S_sobel_x").mistake is None
    # -Laplace output is wrong, but the flip detector must not claim it (flipping gives +Laplace)
    assert report.check("S_laplace").score == 0 and report.check("S_laplace").mistake is None


def test_function_check_detects_per_case_and_hidden_checks_show_no_values(tmp_path, conv2d_parts):
    write(tmp_path / "sub" / "d.py", FLIPPED_MODULE)
    report = grade(tmp_path / "sub", conv2d_parts)
    public, hidden = report.check("corr2d.public"), report.check("corr2d.hidden")
    # Sobel-x case fails with the mistake named; the Laplace case cannot be told apart and passes
    assert public.score == pytest.approx(0.5) and "1/2 cases passed" in public.message
    assert public.mistake and "flipped the kernel" in public.mistake
    assert public.expected is not None  # public: values shown
    assert hidden.score == 0 and hidden.mistake == public.mistake and "flipped the kernel" in hidden.message
    assert hidden.got is None and hidden.expected is None and hidden.max_abs_error is None
    assert hidden.message == f"5 of 5 hidden cases failed: does not match on the hidden inputs (wrong values). {hidden.mistake}"


def test_distractor_credit_gives_partial_points(tmp_path):
    rubric = parse_rubric("""
id: partial
title: Partial credit for a named mistake
reference: reference.backprop_conv2d
given: {image: [[1, 2, 3], [4, 5, 6], [7, 8, 10]], k: [[1, 2], [3, 4]]}
questions:
  - id: S
    checks:
      - kind: value
        points: 2
        expected: {call: corr2d, args: ["$image", "$k"]}
        distractors:
          - {call: conv2d, args: ["$image", "$k"], message: "flipped", credit: 0.25}
""")
    flipped = conv2d([[1, 2, 3], [4, 5, 6], [7, 8, 10]], [[1, 2], [3, 4]])
    report = grade(answers(tmp_path, S=flipped), load_assignment(rubric))
    assert report.check("S").score == pytest.approx(0.5) and report.check("S").mistake == "flipped"


def test_an_accepted_alternative_earns_full_credit_with_a_note(tmp_path):
    rubric = parse_rubric("""
id: alt
title: Either convention
reference: reference.backprop_conv2d
given: {image: [[1, 2, 3], [4, 5, 6], [7, 8, 10]], k: [[1, 2], [3, 4]]}
questions:
  - id: S
    checks:
      - kind: value
        points: 1
        expected: {call: corr2d, args: ["$image", "$k"]}
        convention: "cross-correlation"
        distractors:
          - {call: conv2d, args: ["$image", "$k"], message: "true convolution (accepted)", credit: 1.0}
""")
    assignment = load_assignment(rubric)
    image, k = [[1, 2, 3], [4, 5, 6], [7, 8, 10]], [[1, 2], [3, 4]]
    alt = grade(answers(tmp_path, S=conv2d(image, k)), assignment).check("S")
    assert alt.status == "passed" and alt.score == 1 and alt.note == "true convolution (accepted)" and alt.mistake is None
    right = grade(answers(tmp_path, S=corr2d(image, k)), assignment).check("S")
    assert right.status == "passed" and right.note == "cross-correlation"


def test_detect_stays_silent_where_the_distractor_equals_the_truth():
    same = comparator(ValueCheck(kind="value", points=1, expected=0, tolerance=Tolerance()))
    flip = Distractor(call="conv2d", args=[], message="flipped")
    truth = corr2d(IMAGE_5x5, LAPLACE)
    assert detect(truth, truth, [(flip, lambda: conv2d(IMAGE_5x5, LAPLACE))], same) is None
    truth = corr2d(IMAGE_5x5, SOBEL_X)
    found = detect(-truth, truth, [(flip, lambda: conv2d(IMAGE_5x5, SOBEL_X))], same)
    assert found is not None and found.message == "flipped"
    broken = Distractor(call="nope", args=[], message="never")
    assert detect(-truth, truth, [(broken, lambda: 1 / 0)], same) is None  # a failing detector says nothing


def test_distractor_rules_in_rubrics(tmp_path):
    base = """
id: r
title: R
reference: reference.backprop_conv2d
given: {image: [[1, 2], [3, 4]], k: [[1]]}
questions:
  - id: S
    checks:
"""
    function_with_args = base + """      - kind: function
        points: 1
        reference: corr2d
        cases: [{args: ["$image", "$k"]}]
        distractors: [{call: conv2d, args: ["$image"], message: m}]
"""
    with pytest.raises(RubricError, match="called with each case's inputs"):
        parse_rubric(function_with_args)
    value_without_args = base + """      - kind: value
        points: 1
        expected: {call: corr2d, args: ["$image", "$k"]}
        distractors: [{call: conv2d, message: m}]
"""
    with pytest.raises(RubricError, match="needs args"):
        parse_rubric(value_without_args)
    unknown = base + """      - kind: value
        points: 1
        expected: {call: corr2d, args: ["$image", "$k"]}
        distractors: [{call: conv2dd, args: ["$image", "$k"], message: m}]
"""
    with pytest.raises(RubricError, match="conv2dd"):
        load_assignment(write(tmp_path / "r.yaml", unknown))
