"""Function checks (grader/checks/function.py) and the scorer's order, through a process-free
``StudentProcess``: the student's functions and classes are plain Python objects in this file, and
everything they return crosses the same plain-data codec the sandbox uses.

Seeded random cases are redrawn here with numpy (``default_rng([seed, i])``), and expected outputs
are computed here, so that no figure is read back from the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks.outcome import Call, Outcome, Survey
from grader.checks.scorer import Scorer
from grader.checks.work import StudentWork
from grader.errors import ReferenceError_
from grader.rubric import parse_rubric
from grader_worker import wire


class Died(Exception):
    """Raised by a fake student function: the kernel died (as the runner reports it)."""


class Stuck(Exception):
    """Raised by a fake student function: the call ran out of time."""


class FakeProcess:
    """A StudentProcess over a dict of Python objects: missing names, errors, handles, updates, seeding."""

    call_timeout = 5.0

    def __init__(self, namespace: dict, problems: list[str] | None = None):
        self.namespace = namespace
        self.problems = problems or []
        self.objects: dict[int, object] = {}
        self.log: list[tuple] = []

    def _run(self, produce, keep: bool = False) -> Outcome:
        try:
            value = produce()
        except Died as exc:
            return Outcome(error={"type": "KernelDied", "message": str(exc)})
        except Stuck:
            return Outcome(error={"type": "Timeout", "message": "stopped"})
        except Exception as exc:  # noqa: BLE001 - the student's error, as the bridge reports it
            return Outcome(error={"type": type(exc).__name__, "message": str(exc),
                                  "where": {"file": "student.py", "line": 3, "code": "return oops"}})
        if keep:
            handle = len(self.objects) + 1
            self.objects[handle] = value
            return Outcome(handle=handle)
        return Outcome(value=wire.from_wire(wire.to_wire(value)))

    def has(self, name, handle=None):  # (not logged: a question, not a call)
        if handle is not None:
            return callable(getattr(self.objects.get(handle), name, None))
        return callable(self.namespace.get(name))

    def survey(self, names, callables):
        return Survey({name: self.get(name) for name in names}, {name: self.has(name) for name in callables})

    def call_many(self, calls, timeout=None):  # as the bridge does: a dead or stuck call stops the batch
        outcomes = []
        for name, call in calls:
            if outcomes and (outcomes[-1].error or {}).get("type") in ("KernelDied", "Timeout", "NotRun"):
                outcomes.append(Outcome(error={"type": "NotRun", "message": "not run"}))
                continue
            outcomes.append(self._fresh(name, call, timeout) if call.fresh else self.call(name, call.args, call.kwargs, timeout=timeout))
        return outcomes

    def _fresh(self, name, call, timeout):  # the bridge's fresh object: made, its weights set, its method called
        made = self.call(call.fresh.cls, call.fresh.args, call.fresh.kwargs, timeout=timeout, keep=True)
        if not made.ok:
            return made
        for attr, value in call.fresh.update.items():
            updated = self.update(made.handle, attr, value, timeout=timeout)
            if updated.missing:
                return Outcome(error={"type": "AttributeError", "message": f"{call.fresh.cls} object has no attribute {attr!r} to set"})
            if not updated.ok:
                return updated
        if not callable(getattr(self.objects[made.handle], name, None)):
            return Outcome(error={"type": "AttributeError", "message": f"{call.fresh.cls} object has no method {name!r}"})
        return self.call(name, call.args, call.kwargs, timeout=timeout, handle=made.handle)

    def get(self, name, keep=False):
        self.log.append(("get", name))
        if name not in self.namespace:
            return Outcome(missing=True)
        return self._run(lambda: self.namespace[name])

    def call(self, name, args, kwargs=None, timeout=None, keep=False, handle=None, budget=None):
        self.log.append(("call", name, handle, keep, timeout, budget))
        args = wire.from_wire(wire.to_wire(args))
        kwargs = wire.from_wire(wire.to_wire(kwargs or {}))
        if handle is not None:
            target = getattr(self.objects[handle], name, None)
        else:
            target = self.namespace.get(name)
        if target is None:
            return Outcome(missing=True)
        return self._run(lambda: target(*args, **kwargs), keep)

    def update(self, handle, attr, value, timeout=None):
        self.log.append(("update", handle, attr, timeout))
        target = getattr(self.objects[handle], attr, None)
        if target is None:
            return Outcome(missing=True)
        return self._run(lambda: target.update(wire.from_wire(wire.to_wire(value))))

    def seed(self, seed, threads=1):
        self.log.append(("seed", seed, threads))
        return Outcome()

    def import_problems(self):
        return list(self.problems)

    def calls(self) -> list[str]:
        return [entry[1] for entry in self.log if entry[0] == "call"]


# --- references (the grader's side) ----------------------------------------------------------------


def ref_affine(x, w, b):
    return np.asarray(x, dtype=float) * w + b


def ref_sum_then_wipe(x):
    """Right answer: the sum; then it scribbles over its input (the grader must have given it a copy)."""
    total = float(np.sum(x))
    x[...] = 0
    return total


def ref_pair(x):
    x = np.asarray(x, dtype=float)
    return (x.sum(), {"W": 2 * x, "b": x.mean()})


def ref_flipped(x):
    return np.asarray(x, dtype=float)[::-1] * 1.0


def ref_reversed_affine(x, w, b):
    return ref_affine(x, w, b)[::-1]


def ref_twice(x, w, b):
    return 2 * ref_affine(x, w, b)


def ref_model(params, x):
    return float(np.dot(params["w"], x))


def ref_wipe_params(params, x):
    value = ref_model(params, x)
    params["w"][...] = 0
    return value


def apply_matrix(M, probes):
    return [np.asarray(M, dtype=float) @ np.asarray(p, dtype=float) for p in probes]


def ref_probes(probes, M):
    return [np.asarray(M, dtype=float) @ np.asarray(p, dtype=float) for p in probes]


def draw_params(n, seed):
    return {"w": np.random.default_rng(int(seed)).normal(size=n)}


REFERENCES = dict(ref_affine=ref_affine, ref_sum_then_wipe=ref_sum_then_wipe, ref_pair=ref_pair, ref_flipped=ref_flipped,
                  ref_reversed_affine=ref_reversed_affine, ref_twice=ref_twice, ref_model=ref_model,
                  ref_wipe_params=ref_wipe_params, apply_matrix=apply_matrix, ref_probes=ref_probes, draw_params=draw_params)

AFFINE = """
id: f
title: Function checks
given: {x: [1.0, 2.0, 3.0], w: 2.0}
questions:
  - id: affine
    checks:
      - kind: function
        points: 3
        reference: ref_affine
        feedback: {passed: "well done", failed: "look at b"}
        cases:
          - {args: ["$x", "$w", 1.0]}
          - {let: {shift: 0.5}, args: ["$x", "%shift"], kwargs: {b: "%shift"}}
        random_cases: {count: 2, seed: 11, args: [{random: normal, shape: [4]}, {random: uniform, low: 1, high: 2}], kwargs: {b: {random: integers, low: 0, high: 5}}}
"""


def affine_cases():
    """The check's four cases, drawn here the way the README says: case i of random_cases uses default_rng([seed, i])."""
    cases = [([1.0, 2.0, 3.0], 2.0, 1.0), ([1.0, 2.0, 3.0], 0.5, 0.5)]
    for i in range(2):
        rng = np.random.default_rng([11, i])
        x, w = rng.normal(0.0, 1.0, size=(4,)), rng.uniform(1, 2, size=())
        b = rng.integers(0, 5, size=(), endpoint=True)
        cases.append((x, float(w), int(b)))
    return cases


def run(rubric_text: str, namespace: dict | None, references=None, problems=None, **replace):
    for old, new in replace.items():
        assert old in rubric_text, old
        rubric_text = rubric_text.replace(old, new)
    scorer = Scorer(parse_rubric(rubric_text), {**REFERENCES, **(references or {})})
    process = FakeProcess(namespace, problems) if namespace is not None else None
    questions = scorer.score(StudentWork(answers={}, process=process))
    return {c.id: c for q in questions for c in q.checks}, process, scorer


# --- cases ------------------------------------------------------------------------------------------


def test_cases_bind_let_values_and_draw_seeded_random_inputs():
    scorer = Scorer(parse_rubric(AFFINE), REFERENCES)
    check = scorer.rubric.questions[0].checks[0]
    cases = scorer.function_checks.cases(check)
    assert [c.index for c in cases] == [0, 1, 2, 3]
    assert cases[1].bound == {"shift": 0.5} and cases[1].kwargs == {"b": 0.5}
    assert np.array_equal(cases[0].args[0], [1.0, 2.0, 3.0]) and np.array_equal(cases[1].args[0], [1.0, 2.0, 3.0])
    assert cases[0].args[1:] == [2.0, 1.0] and cases[0].kwargs == {} and cases[1].args[1] == 0.5
    for case, (x, w, b) in zip(cases[2:], affine_cases()[2:]):
        assert np.array_equal(case.args[0], x) and case.args[1] == w and case.kwargs == {"b": b}
    assert [(len(a), k) for a, k in scorer._cases(check)][:2] == [(3, {}), (2, {"b": 0.5})]
    expected = [scorer.function_checks.reference(check, c) for c in cases]
    for got, (x, w, b) in zip(expected, affine_cases()):
        assert np.allclose(got, np.asarray(x) * w + b)
    assert [len(v) for v in scorer.precompute().values()] == [4]


def test_a_right_function_passes_every_case():
    checks, process, _ = run(AFFINE, {"affine": lambda x, w, b: np.asarray(x) * w + b})
    affine = checks["affine"]
    assert (affine.status, affine.score, affine.message, affine.feedback) == ("passed", 3.0, "4/4 cases passed", "well done")
    assert affine.max_abs_error == pytest.approx(0.0, abs=1e-12) and affine.threshold is None and affine.mistake is None
    assert affine.got is None and affine.expected is None  # values are shown for a failing case only
    assert process.calls() == ["affine"] * 4
    assert all(entry[4] == 10 for entry in process.log)  # the rubric's call_timeout (default 10 s) on every call


def test_a_function_wrong_on_some_cases_gets_its_share_and_the_first_failure():
    # forgets b: right only where b == 0; the first case fails
    checks, _, _ = run(AFFINE, {"affine": lambda x, w, b: np.asarray(x) * w})
    affine = checks["affine"]
    right = sum(b == 0 for _, _, b in affine_cases())
    assert affine.score == pytest.approx(3 * right / 4) and affine.status == "failed" and affine.feedback == "look at b"
    assert affine.message == (f"{right}/4 cases passed; case 1 affine([1., 2., 3.], 2., 1.): "
                              "values differ (largest absolute error 1, relative 0.333)")
    assert affine.got == [2.0, 4.0, 6.0] and affine.expected == [3.0, 5.0, 7.0]
    assert right == 0 and affine.max_abs_error == 1.0 and affine.max_rel_error == pytest.approx(1 / 3)  # the failing case's figures


def test_hidden_function_checks_say_how_many_failed_and_show_nothing():
    checks, _, _ = run(AFFINE, {"affine": lambda x, w, b: np.asarray(x) * w}, **{"points: 3\n": "points: 3\n        visibility: hidden\n"})
    affine = checks["affine"]
    failed = sum(b != 0 for _, _, b in affine_cases())
    assert affine.message == f"{failed} of 4 hidden cases failed: does not match on the hidden inputs (wrong values)"
    assert affine.got is None and affine.expected is None and affine.max_abs_error is None and affine.rel_error is None
    raising, _, _ = run(AFFINE, {"affine": lambda x, w, b: 1 / 0}, **{"points: 3\n": "points: 3\n        visibility: hidden\n"})
    assert raising["affine"].message == "4 of 4 hidden cases failed: raised an exception"  # (never the name: it could spell inputs)
    assert raising["affine"].status == "error"


def test_a_missing_function_says_why_it_was_not_found():
    none, _, _ = run(AFFINE, None)
    assert (none["affine"].status, none["affine"].score, none["affine"].feedback) == ("failed", 0.0, "look at b")
    assert none["affine"].message == "no function named 'affine' found (no code was handed in)"
    other, _, _ = run(AFFINE, {"affine_v2": ref_affine})
    assert other["affine"].message == "no function named 'affine' found"
    broken, _, _ = run(AFFINE, {}, problems=["conv1d.py, line 3: SyntaxError", "b.py, line 1: ImportError"])
    assert broken["affine"].message == "no function named 'affine' found: conv1d.py, line 3: SyntaxError; b.py, line 1: ImportError"
    named, process, _ = run(AFFINE, {"forward": ref_affine}, **{"reference: ref_affine": "function: forward\n        reference: ref_affine"})
    assert named["affine"].status == "passed" and process.calls() == ["forward"] * 4


def test_errors_raised_by_the_students_function():
    def sometimes(x, w, b):
        if b == 1.0:
            raise ValueError("no ones")
        return np.asarray(x) * w + b

    checks, _, _ = run(AFFINE, {"affine": sometimes})
    affine = checks["affine"]
    assert affine.status == "failed" and affine.score == pytest.approx(3 * 3 / 4)  # only case 1 has b == 1
    assert affine.message == ("3/4 cases passed (2.25 of 3 points, per case); case 1 affine([1., 2., 3.], 2., 1.): raised ValueError: no ones "
                              "(student.py, line 3: return oops)")
    assert affine.got is None and affine.expected == [3.0, 5.0, 7.0]
    assert affine.max_abs_error == pytest.approx(0.0, abs=1e-12) and affine.max_rel_error == pytest.approx(0.0, abs=1e-12)
    always, _, _ = run(AFFINE, {"affine": lambda x, w, b: [][1]})
    assert always["affine"].status == "error" and always["affine"].score == 0
    assert always["affine"].message.startswith("0/4 cases passed; case 1 affine([1., 2., 3.], 2., 1.): raised IndexError")


def test_an_error_plus_a_wrong_answer_is_a_failure_not_an_error():
    def half(x, w, b):
        if b == 1.0:
            raise ValueError("no ones")
        return np.asarray(x) * w + b + 100

    checks, _, _ = run(AFFINE, {"affine": half})
    assert checks["affine"].status == "failed" and checks["affine"].score == 0


def test_a_dead_or_stuck_kernel_stops_the_remaining_cases():
    for exc, text in ((Died("signal 9"), "the kernel died: signal 9"), (Stuck(), "did not finish within the time limit")):
        def dies(x, w, b, exc=exc):
            raise exc

        checks, process, _ = run(AFFINE, {"affine": dies})
        affine = checks["affine"]
        assert process.calls() == ["affine"]  # no call after the first into a dead or stuck kernel
        assert affine.score == 0.0
        assert affine.message == f"0/4 cases passed; case 1 affine([1., 2., 3.], 2., 1.): {text}"

    def dies_on_the_second(x, w, b):
        if w == 0.5:
            raise Died("segfault")
        return np.asarray(x) * w + b

    checks, process, _ = run(AFFINE, {"affine": dies_on_the_second})
    assert process.calls() == ["affine"] * 2 and checks["affine"].score == pytest.approx(3 / 4)
    assert checks["affine"].status == "failed"


def test_the_reference_gets_a_copy_of_the_inputs():
    rubric = AFFINE.replace("reference: ref_affine", "reference: ref_sum_then_wipe").replace(
        """        cases:
          - {args: ["$x", "$w", 1.0]}
          - {let: {shift: 0.5}, args: ["$x", "%shift"], kwargs: {b: "%shift"}}
        random_cases: {count: 2, seed: 11, args: [{random: normal, shape: [4]}, {random: uniform, low: 1, high: 2}], kwargs: {b: {random: integers, low: 0, high: 5}}}
""", """        cases: [{args: [[1.0, 2.0, 3.0]]}, {let: {v: [4.0, 5.0]}, args: ["%v"]}]
""")
    checks, _, _ = run(rubric, {"affine": lambda x: float(np.sum(x))})
    assert checks["affine"].status == "passed", checks["affine"].message
    kwargs = rubric.replace("args: [[1.0, 2.0, 3.0]]", "kwargs: {x: [1.0, 2.0, 3.0]}")
    checks, _, _ = run(kwargs, {"affine": lambda x: float(np.sum(x))})
    assert checks["affine"].status == "passed", checks["affine"].message


def test_a_distractor_names_the_mistake_case_by_case_with_its_credit():
    rubric = AFFINE.replace("        cases:\n", "        distractors:\n"
                            "          - {call: ref_twice, message: \"You doubled it.\", credit: 0.5}\n"
                            "          - {call: ref_reversed_affine, message: \"You reversed it.\"}\n        cases:\n")
    checks, _, _ = run(rubric, {"affine": lambda x, w, b: 2 * (np.asarray(x) * w + b)})
    affine = checks["affine"]
    assert affine.score == pytest.approx(3 * 0.5) and affine.mistake == "You doubled it." and affine.status == "failed"
    assert affine.message == ("0/4 cases passed (1.5 of 3 points, per case); case 1 affine([1., 2., 3.], 2., 1.): values differ "
                              "(largest absolute error 7, relative 1). You doubled it.")
    reversed_, _, _ = run(rubric, {"affine": lambda x, w, b: (np.asarray(x) * w + b)[::-1]})
    assert reversed_["affine"].score == 0 and reversed_["affine"].mistake == "You reversed it."
    hidden, _, _ = run(rubric, {"affine": lambda x, w, b: 2 * (np.asarray(x) * w + b)},
                       **{"points: 3\n": "points: 3\n        visibility: hidden\n"})
    assert hidden["affine"].message == ("4 of 4 hidden cases failed (1.5 of 3 points, per case): does not match on the hidden "
                                        "inputs (wrong values). You doubled it.")
    assert hidden["affine"].mistake == "You doubled it."


def test_an_accepted_alternative_passes_with_a_note_and_the_convention_is_named_where_it_differs():
    rubric = AFFINE.replace("        cases:\n", "        convention: \"left to right\"\n        distractors:\n"
                            "          - {call: ref_reversed_affine, message: \"right to left (accepted)\", credit: 1.0}\n        cases:\n")
    alternative, _, _ = run(rubric, {"affine": lambda x, w, b: (np.asarray(x) * w + b)[::-1]})
    affine = alternative["affine"]
    assert (affine.status, affine.score, affine.note, affine.mistake) == ("passed", 3.0, "right to left (accepted)", None)
    assert affine.message == "4/4 cases passed (right to left (accepted))" and affine.feedback is None
    right, _, _ = run(rubric, {"affine": lambda x, w, b: np.asarray(x) * w + b})
    assert right["affine"].note == "left to right" and right["affine"].message == "4/4 cases passed (left to right)"
    assert right["affine"].feedback == "well done"
    # on palindromic outputs the two conventions agree: no convention can be named
    symmetric = rubric.replace("""          - {args: ["$x", "$w", 1.0]}
          - {let: {shift: 0.5}, args: ["$x", "%shift"], kwargs: {b: "%shift"}}
        random_cases: {count: 2, seed: 11, args: [{random: normal, shape: [4]}, {random: uniform, low: 1, high: 2}], kwargs: {b: {random: integers, low: 0, high: 5}}}
""", """          - {args: [[1.0, 2.0, 1.0], 2.0, 1.0]}
""")
    same, _, _ = run(symmetric, {"affine": lambda x, w, b: np.asarray(x) * w + b})
    assert same["affine"].note is None and same["affine"].message == "1/1 cases passed"
    # a named mistake on one case suppresses the convention note
    mixed = rubric.replace("          - {call: ref_reversed_affine, message: \"right to left (accepted)\", credit: 1.0}\n",
                           "          - {call: ref_reversed_affine, message: \"right to left (accepted)\", credit: 1.0}\n"
                           "          - {call: ref_twice, message: \"You doubled it.\"}\n")

    def doubles_first(x, w, b):
        out = np.asarray(x) * w + b
        return 2 * out if b == 1.0 else out

    result, _, _ = run(mixed, {"affine": doubles_first})
    assert result["affine"].mistake == "You doubled it." and result["affine"].note is None


SELECT = """
id: s
title: Select
given: {x: [1.0, 2.0, 3.0]}
questions:
  - id: pair
    checks:
      - kind: function
        points: 1
        reference: ref_pair
        select: [1, W]
        cases: [{args: ["$x"]}]
"""


def test_select_takes_the_same_part_of_both_outputs():
    def right(x):
        return (0.0, {"W": [2.0, 4.0, 6.0], "b": "anything"})

    checks, _, _ = run(SELECT, {"pair": right})
    assert checks["pair"].status == "passed"
    for output, why in (((0.0,), "could not take [1]['W'] of the result: it has 1 items, not 2"),
                        ((0.0, {"b": 1}), "could not take [1]['W'] of the result: no key 'W' (keys: b)"),
                        ((0.0, [1.0]), "could not take [1]['W'] of the result: expected a dict, got a list"),
                        (5.0, "could not take [1]['W'] of the result: expected a tuple, got a float")):
        checks, _, _ = run(SELECT, {"pair": lambda x, output=output: output})
        assert checks["pair"].message == f"0/1 cases passed; case 1 pair([1., 2., 3.]): {why}", output
        assert checks["pair"].status == "failed" and checks["pair"].got == (list(output) if isinstance(output, tuple) else output)
    negative, _, _ = run(SELECT.replace("select: [1, W]", "select: [-1, W]"), {"pair": right})
    assert negative["pair"].status == "passed"


def test_select_and_path_text_directly():
    from grader.checks.function import path_text, select

    value = (1, {"a": [10, 20]})
    assert select(value, [1, "a", -1]) == 20 and select(value, []) is value and select([5, 6], [-2]) == 5
    assert path_text([1, "a", -1]) == "[1]['a'][-1]" and path_text([]) == ""
    with pytest.raises(LookupError, match=r"^no key 'z' \(keys: a\)$"):
        select(value, [1, "z"])
    many = {f"k{i}": i for i in range(10)}
    with pytest.raises(LookupError, match=r"^no key 'z' \(keys: k0, k1, k2, k3, k4, k5, k6, k7\)$"):
        select(many, ["z"])
    with pytest.raises(LookupError, match=r"^it has 2 items, not 3$"):
        select([1, 2], [2])
    with pytest.raises(LookupError, match=r"^expected a dict, got a tuple$"):
        select((1,), ["a"])
    with pytest.raises(LookupError, match=r"^expected a tuple, got a dict$"):
        select({"a": 1}, [0])


TRANSFORM = """
id: t
title: Transform
given: {M: [[1.0, 2.0], [3.0, 4.0]]}
questions:
  - id: matrix
    checks:
      - kind: function
        points: 1
        reference: ref_probes
        reference_args: ["%probes"]
        transform: {call: apply_matrix, args: ["%probes"]}
        cases: [{let: {probes: {random: normal, shape: [3, 2], seed: 5}}, args: ["$M"]}]
"""


def test_a_transform_compares_what_the_output_does():
    checks, _, _ = run(TRANSFORM, {"matrix": lambda M: M})
    assert checks["matrix"].status == "passed", checks["matrix"].message
    transposed, _, _ = run(TRANSFORM, {"matrix": lambda M: np.asarray(M).T})
    assert transposed["matrix"].status == "failed" and transposed["matrix"].message.startswith("0/1 cases passed; case 1 matrix([[1., 2.], [3., 4.]]): values differ")
    unusable, _, _ = run(TRANSFORM, {"matrix": lambda M: [1.0, 2.0, 3.0]})
    assert unusable["matrix"].message == ("0/1 cases passed; case 1 matrix([[1., 2.], [3., 4.]]): could not use the result "
                                          "(ValueError: matmul: Input operand 1 has a mismatch in its core dimension 0, "
                                          "with gufunc signature (n?,k),(k,m?)->(n?,m?) (size 2 is different from 3))")


GRADIENT = """
id: g
title: Gradient
given: {x: [1.0, 2.0, 3.0]}
questions:
  - id: grad
    checks:
      - kind: function
        points: 2
        reference: ref_affine
        metric: rel_error
        threshold: 1.0e-6
        cases: [{args: ["$x", 2.0, 0.0]}, {args: ["$x", 3.0, 0.0]}]
"""


def test_gradient_checks_report_the_worst_and_the_failing_rel_error():
    def noisy(noise):
        return lambda x, w, b: (np.asarray(x) * w + b) * (1 + noise * w)

    close, _, _ = run(GRADIENT, {"grad": noisy(1e-9)})
    grad = close["grad"]
    assert grad.status == "passed" and grad.threshold == 1e-6
    worst = 3e-9 / (2 + 3e-9)  # the w = 3 case: relative perturbation 3e-9 of both sides' sum
    assert grad.rel_error == pytest.approx(worst, rel=1e-3)
    assert grad.max_abs_error == pytest.approx(9 * 3e-9, rel=1e-3)
    far, _, _ = run(GRADIENT, {"grad": noisy(1e-5)})
    grad = far["grad"]
    first = 2e-5 / (2 + 2e-5)
    assert grad.status == "failed" and grad.score == 0
    assert grad.rel_error == pytest.approx(first, rel=1e-3) and grad.max_abs_error == pytest.approx(6 * 2e-5, rel=1e-3)
    assert grad.message == f"0/2 cases passed; case 1 grad([1., 2., 3.], 2., 0.): relative error {first:.2g} (above the threshold 1e-06)"
    half, _, _ = run(GRADIENT, {"grad": lambda x, w, b: np.asarray(x) * w * (1 + (1e-5 if w == 3.0 else 1e-9))})
    grad = half["grad"]
    assert grad.score == 1.0 and grad.rel_error == pytest.approx(1e-5 / (2 + 1e-5), rel=1e-3)  # the failing case's, as the message
    hidden, _, _ = run(GRADIENT, {"grad": noisy(1e-9)}, **{"points: 2\n": "points: 2\n        visibility: hidden\n"})
    assert hidden["grad"].rel_error is None and hidden["grad"].threshold == 1e-6


INSTANCE = """
id: i
title: Instance
given: {x: [1.0, 2.0, 3.0]}
questions:
  - id: forward
    checks:
      - kind: function
        points: 2
        function: forward
        instance: {class: Model, args: [3], update: {params: "%params"}}
        reference: ref_model
        reference_args: ["%params"]
        cases:
          - {let: {params: {call: draw_params, args: [3, 1]}}, args: ["$x"]}
          - {let: {params: {call: draw_params, args: [3, 2]}}, args: ["$x"]}
"""


class Model:
    def __init__(self, n):
        self.params = {"w": np.zeros(n)}

    def forward(self, x):
        return float(np.dot(self.params["w"], x))


def test_a_method_of_a_fresh_object_with_the_graders_weights():
    checks, process, _ = run(INSTANCE, {"Model": Model})
    assert checks["forward"].status == "passed", checks["forward"].message
    assert [e[0:4] for e in process.log if e[0] in ("call", "update")] == [
        ("call", "Model", None, True), ("update", 1, "params", 10), ("call", "forward", 1, False),
        ("call", "Model", None, True), ("update", 2, "params", 10), ("call", "forward", 2, False)]
    # the weights are the grader's: a model that ignores them fails
    class Stubborn(Model):
        def forward(self, x):
            return 1.0

    assert run(INSTANCE, {"Model": Stubborn})[0]["forward"].score == 0
    # the reference may scribble on its copy of the weights: the student's object still gets the drawn ones
    wiped, _, _ = run(INSTANCE.replace("reference: ref_model", "reference: ref_wipe_params"), {"Model": Model})
    assert wiped["forward"].status == "passed", wiped["forward"].message


PAIR = """
id: p
title: Two parts of one result
given: {x: [1.0, 2.0, 3.0]}
questions:
""" + "".join(f"""
  - id: part{i}
    checks:
      - kind: function
        points: 1
        function: forward
        instance: {{class: Model, args: [3], update: {{params: "%params"}}}}
        reference: ref_pair
        reference_args: ["%params"]
        select: [{i}]
        cases:
          - {{let: {{params: {{call: draw_params, args: [3, 1]}}}}, args: ["$x"]}}
          - {{let: {{params: {{call: draw_params, args: [3, 2]}}}}, args: ["$x"]}}
""" for i in (0, 1))


class Pair(Model):
    def forward(self, x):
        value = float(np.dot(self.params["w"], x))
        return value, 2 * value


def ref_pair(params, x):
    return ref_model(params, x), 2 * ref_model(params, x)


def test_the_same_call_is_asked_once_and_each_check_reads_its_part():
    checks, process, _ = run(PAIR, {"Model": Pair}, references={"ref_pair": ref_pair})
    assert [c.status for c in checks.values()] == ["passed", "passed"], [c.message for c in checks.values()]
    assert process.calls() == ["Model", "forward", "Model", "forward"]  # two cases, asked once for both questions
    swapped, _, _ = run(PAIR, {"Model": Pair}, references={"ref_pair": lambda params, x: ref_pair(params, x)[::-1]})
    assert [c.score for c in swapped.values()] == [0, 0]  # each question reads its own part


def test_a_case_not_run_after_a_timeout_is_asked_again_by_a_later_check():
    process = FakeProcess({"f": lambda x: x})
    batch = process.call_many  # as the bridge stops a batch at a timeout: the cases after it come back NotRun
    process.call_many = lambda calls, timeout=None: [Outcome(error={"type": "Timeout", "message": "stopped"})] + [
        Outcome(error={"type": "NotRun", "message": "not run"})] * (len(calls) - 1)
    work = StudentWork(process=process)
    first, second, third = ("f", Call([1.0], {})), ("f", Call([2.0], {})), ("f", Call([3.0], {}))
    assert [o.error["type"] for o in work.call_many([first, second, third])] == ["Timeout", "NotRun", "NotRun"]
    process.call_many = batch
    same = work.call_many([first, second])  # a check whose own case timed out: the cases after it stay not run
    assert [o.error["type"] for o in same] == ["Timeout", "NotRun"] and process.calls() == []
    later = work.call_many([third, second])  # a later check, behind another check's timeout: its cases run now
    assert [o.value for o in later] == [3.0, 2.0] and process.calls() == ["f", "f"]


def test_every_case_of_every_function_is_asked_in_one_request_before_the_checks_read_them():
    rubric = AFFINE + """
      - kind: function
        visibility: hidden
        points: 1
        function: affine
        reference: ref_affine
        cases:
          - args: [[5.0], 1.0, 0.0]
  - id: shifted
    checks:
      - kind: function
        points: 1
        reference: ref_affine
        cases:
          - args: [[2.0], 3.0, 1.0]
  - id: absent
    checks:
      - kind: function
        points: 1
        reference: ref_affine
        cases:
          - args: [[2.0], 3.0, 1.0]
"""
    process = FakeProcess({"affine": lambda x, w, b: np.asarray(x) * w + b, "shifted": lambda x, w, b: np.asarray(x) * w + b})
    requests, batch, surveys, survey = [], process.call_many, [], process.survey
    process.call_many = lambda calls, timeout=None: requests.append([name for name, _call in calls]) or batch(calls, timeout)
    process.survey = lambda names, callables: surveys.append(list(callables)) or survey(names, callables)
    questions = Scorer(parse_rubric(rubric), REFERENCES).score(StudentWork(answers={}, process=process))
    assert [c.status for q in questions for c in q.checks] == ["passed"] * 3 + ["failed"]
    assert surveys == [["affine", "shifted", "absent"]], surveys  # which functions exist: asked once, for all
    # the public check's four cases, the hidden one and the other function's, together; nothing for the absent one
    assert requests == [["affine"] * 5 + ["shifted"]], requests


def test_instance_failures_say_what_went_wrong():
    missing, _, _ = run(INSTANCE, {})
    assert missing["forward"].message == "no class named 'Model' found"
    assert run(INSTANCE, None)[0]["forward"].message == "no class named 'Model' found (no code was handed in)"

    class NoParams:
        def __init__(self, n):
            pass

        def forward(self, x):
            return 0.0

    no_params, _, _ = run(INSTANCE, {"Model": NoParams})
    assert no_params["forward"].message.endswith("): raised AttributeError: Model object has no attribute 'params' to set")

    class BadParams(Model):
        def __init__(self, n):
            self.params = ()

    bad, _, _ = run(INSTANCE, {"Model": BadParams})
    assert "raised AttributeError: 'tuple' object has no attribute 'update'" in bad["forward"].message

    def failing_factory(n):
        raise RuntimeError("cannot build")

    failed, process, _ = run(INSTANCE, {"Model": failing_factory})
    assert "raised RuntimeError: cannot build" in failed["forward"].message and process.calls() == ["Model", "Model"]

    class NoMethod(Model):
        forward = None

    no_method = run(INSTANCE, {"Model": NoMethod})[0]["forward"].message
    assert no_method.endswith("): raised AttributeError: Model object has no method 'forward'"), no_method


def test_a_failing_reference_names_the_case():
    with pytest.raises(ReferenceError_, match=r"^reference ref_affine\(\) failed on case 2 of affine: "
                                              r"TypeError: ref_affine\(\) missing 1 required positional argument: 'b'$"):
        run(AFFINE.replace('kwargs: {b: "%shift"}', "kwargs: {}"), {"affine": ref_affine})


# --- the scorer: every kind in its place ------------------------------------------------------------

ORDER = """
id: o
title: Order
given: {x: [1.0, 2.0]}
experiments:
  run:
    seed: 3
    time_budget: 30
    steps:
      - {name: stats, call: train, args: ["$x"], keep: false}
    metrics:
      final: {value: stats, path: [loss]}
questions:
  - id: trained
    checks:
      - {kind: training, points: 1, experiment: run, require: "final < 1"}
  - id: double
    checks:
      - {kind: function, points: 1, reference: ref_affine, cases: [{args: ["$x", 2.0, 0.0]}]}
  - id: why
    checks:
      - {kind: manual, points: 2}
"""


def test_training_checks_run_after_every_other_check_and_questions_add_up():
    namespace = {"train": lambda x: {"loss": 0.5}, "double": lambda x, w, b: np.asarray(x) * 2}
    scorer = Scorer(parse_rubric(ORDER), REFERENCES)
    process = FakeProcess(namespace)
    questions = scorer.score(StudentWork(process=process), manual={"why": (1.5, "good")})
    assert process.calls() == ["double", "train"]  # the function check first, although its question comes second
    assert ("seed", 3, 1) in process.log
    assert [(q.id, q.score, q.max_score, [c.status for c in q.checks]) for q in questions] == [
        ("trained", 1.0, 1.0, ["passed"]), ("double", 1.0, 1.0, ["passed"]), ("why", 1.5, 2.0, ["failed"])]
    assert questions[2].checks[0].message == "graded by a TA: good"
    pending = scorer.score(StudentWork(process=FakeProcess(namespace)))
    assert pending[2].checks[0].status == "pending" and pending[2].score == 0


def test_question_scores_are_rounded_sums_of_their_checks():
    rubric = parse_rubric("""
id: r
title: Rounding
questions:
  - id: q
    checks:
      - {kind: manual, points: 1, id: a}
      - {kind: manual, points: 1, id: b}
      - {kind: manual, points: 1, id: c}
""")
    question = Scorer(rubric, {}).score(StudentWork(), manual={"a": 0.1, "b": 0.2, "c": 1 / 3})[0]
    assert question.score == round(0.1 + 0.2 + 1 / 3, 6) == 0.633333 and question.max_score == 3


# --- bindings reach every place of a case ----------------------------------------------------------


def ref_scaled(x, scale=1.0):
    return np.asarray(x, dtype=float) * scale


def times(value, factor=1.0):
    return np.asarray(value, dtype=float) * factor


class Scaler:
    def __init__(self, base, extra=0.0):
        self.factor = base + extra

    def apply(self, x, scale=1.0):
        return np.asarray(x, dtype=float) * scale * self.factor


BOUND = """
id: b
title: Bindings
given: {x: [1.0, 2.0]}
questions:
  - id: apply
    checks:
      - kind: function
        points: 1
        function: apply
        instance: {class: Scaler, args: ["%base"], kwargs: {extra: "%extra"}}
        reference: ref_scaled
        transform: {call: times, kwargs: {factor: "%undo"}}
        distractors: [{call: ref_scaled, kwargs: {scale: "%wrong"}, message: "wrong scale"}]
        random_cases:
          count: 2
          seed: 4
          let: {base: {random: uniform, low: 1, high: 2}, extra: {random: uniform, low: 0, high: 1}, wrong: 7.0, undo: 0.5}
          args: ["$x"]
          kwargs: {scale: {random: uniform, low: 1, high: 3}}
"""


def bound_cases():
    """base, extra, then scale: the draws of each case, in the order the check makes them."""
    out = []
    for i in range(2):
        rng = np.random.default_rng([4, i])
        base, extra = rng.uniform(1, 2), rng.uniform(0, 1)
        out.append((base, extra, rng.uniform(1, 3)))
    return out


def test_let_bindings_reach_the_instance_the_transform_and_the_distractors():
    cases = bound_cases()
    scorer = Scorer(parse_rubric(BOUND), {**REFERENCES, "ref_scaled": ref_scaled, "times": times})
    check = scorer.rubric.questions[0].checks[0]
    prepared = scorer.function_checks.cases(check)
    for case, (base, extra, scale) in zip(prepared, cases):
        assert case.bound == {"base": base, "extra": extra, "wrong": 7.0, "undo": 0.5} and case.kwargs == {"scale": scale}
    process = FakeProcess({"Scaler": Scaler})
    result = scorer.score(StudentWork(process=process))[0].checks[0]
    # got = x * scale * (base + extra) * 0.5, expected = x * scale: right only if base + extra == 2
    assert result.score == 0 and result.mistake is None
    made = [entry for entry in process.log if entry[:2] == ("call", "Scaler")]
    assert len(made) == 2 and all(entry[3] is True and entry[4] == 10 for entry in made)  # keep=True, call_timeout
    methods = [entry for entry in process.log if entry[:2] == ("call", "apply")]
    assert [entry[2] for entry in methods] == [1, 2] and all(entry[4] == 10 for entry in methods)
    assert [process.objects[h].factor for h in (1, 2)] == [b + e for b, e, _ in cases]

    # an object giving x * scale * 2, halved by the transform (factor %undo = 0.5), is the truth x * scale
    class Right(Scaler):
        def apply(self, x, scale=1.0):
            return np.asarray(x, dtype=float) * scale * 2

    assert scorer.score(StudentWork(process=FakeProcess({"Scaler": Right})))[0].checks[0].score == 1

    # and one that uses scale 7 (the distractor's %wrong) and doubles: named
    class Seven(Scaler):
        def apply(self, x, scale=1.0):
            return np.asarray(x, dtype=float) * 7.0 * 2

    seven = scorer.score(StudentWork(process=FakeProcess({"Scaler": Seven})))[0].checks[0]
    assert seven.mistake == "wrong scale" and seven.score == 0


def test_hidden_failures_with_some_cases_passing_and_the_hint():
    def right_on_the_first_two(x, w, b):
        out = np.asarray(x) * w + b
        return out if len(np.asarray(x)) == 3 else out + 1

    checks, _, _ = run(AFFINE, {"affine": right_on_the_first_two}, **{"points: 3\n": "points: 3\n        visibility: hidden\n"})
    affine = checks["affine"]
    assert affine.score == pytest.approx(1.5) and affine.feedback == "look at b" and affine.status == "failed"
    assert affine.message == "2 of 4 hidden cases failed (1.5 of 3 points, per case): does not match on the hidden inputs (wrong values)"


def test_the_worst_passing_case_is_reported():
    rubric = AFFINE.replace("points: 3\n", "points: 3\n        tolerance: {rtol: 0.0, atol: 1.0}\n")
    cases = affine_cases()

    def off_by(offsets):
        def student(x, w, b):
            index = next(i for i, (cx, cw, cb) in enumerate(cases) if np.array_equal(np.asarray(cx), np.asarray(x)) and cw == w)
            return np.asarray(x) * w + b + offsets[index]
        return student

    for offsets, worst in (([0.5, 0.0, 0.0, 0.0], 0.5), ([0.0, 0.0, 0.0, 0.5], 0.5), ([0.0, 0.25, 0.5, 0.0], 0.5)):
        affine = run(rubric, {"affine": off_by(offsets)})[0]["affine"]
        assert affine.status == "passed" and affine.max_abs_error == pytest.approx(worst), offsets
    # a tie keeps the first: the same absolute error, a different relative one
    tie = run(rubric, {"affine": off_by([0.5, 0.5, 0.0, 0.0])})[0]["affine"]
    assert tie.max_rel_error == pytest.approx(0.5 / 3)  # case 1's expected [3, 5, 7], case 2's [1, 1.5, 2]


def test_gradient_checks_rank_cases_by_relative_error():
    rubric = GRADIENT.replace('cases: [{args: ["$x", 2.0, 0.0]}, {args: ["$x", 3.0, 0.0]}]',
                              'cases: [{args: [[0.001], 1.0, 0.0]}, {args: [[1000.0], 1.0, 0.0]}]')

    def student(x, w, b):
        x = np.asarray(x, dtype=float)
        return x * (1 + (2e-7 if x[0] < 1 else 2e-8))

    grad = run(rubric, {"grad": student})[0]["grad"]
    assert grad.status == "passed"
    assert grad.rel_error == pytest.approx(1e-7, rel=1e-3)       # the small case: larger relative, smaller absolute error
    assert grad.max_abs_error == pytest.approx(2e-10, rel=1e-3)


def test_random_cases_use_their_bindings_and_a_case_that_cannot_be_used_does_not_stop_the_others():
    rubric = """
id: r
title: Random bindings
questions:
  - id: affine
    checks:
      - kind: function
        points: 2
        reference: ref_affine
        random_cases: {count: 2, seed: 9, let: {w: {random: uniform, low: 1, high: 2}}, args: [[1.0, 2.0], "%w"], kwargs: {b: "%w"}}
"""
    draws = [float(np.random.default_rng([9, i]).uniform(1, 2)) for i in range(2)]
    process = FakeProcess({"affine": lambda x, w, b: np.asarray(x) * w + b})
    scorer = Scorer(parse_rubric(rubric), REFERENCES)
    cases = scorer.function_checks.cases(scorer.rubric.questions[0].checks[0])
    assert [(c.args[1], c.kwargs) for c in cases] == [(w, {"b": w}) for w in draws]
    checks = {c.id: c for q in scorer.score(StudentWork(process=process)) for c in q.checks}
    assert checks["affine"].status == "passed" and process.calls() == ["affine", "affine"]
    # the output of the first case cannot be taken apart, the second can: the second still counts
    select_rubric = SELECT.replace('cases: [{args: ["$x"]}]', 'cases: [{args: [[1.0]]}, {args: ["$x"]}]')
    first_bad = run(select_rubric, {"pair": lambda x: (0.0,) if len(x) == 1 else (0.0, {"W": [2.0, 4.0, 6.0]})})[0]["pair"]
    assert first_bad.score == 0.5 and first_bad.message.startswith("1/2 cases passed (0.5 of 1 point, per case); case 1 pair([1.]): could not take")


def ref_one(x):
    return 1.0


def ref_near_one(x):
    return 1.09


def test_a_distractor_within_tolerance_of_the_truth_names_nothing_even_when_the_answer_matches_it():
    # tolerance is not transitive: 1.18 is 0.09 from the distractor's 1.09, which is 0.09 from the truth 1.0,
    # but 0.18 from the truth. The distractor cannot be told apart from the truth, so it names nothing.
    rubric = """
id: n
title: Near
questions:
  - id: one
    checks:
      - kind: function
        points: 1
        reference: ref_one
        tolerance: {rtol: 0.0, atol: 0.1}
        distractors: [{call: ref_near_one, message: "near"}]
        cases: [{args: [0.0]}]
  - id: v
    checks:
      - kind: value
        points: 1
        expected: {call: ref_one, args: [0.0]}
        tolerance: {rtol: 0.0, atol: 0.1}
        distractors: [{call: ref_near_one, args: [0.0], message: "near"}]
"""
    scorer = Scorer(parse_rubric(rubric), {**REFERENCES, "ref_one": ref_one, "ref_near_one": ref_near_one})
    checks = {c.id: c for q in scorer.score(StudentWork(answers={"v": 1.18}, process=FakeProcess({"one": lambda x: 1.18})))
              for c in q.checks}
    assert checks["one"].score == 0 and checks["one"].mistake is None
    assert checks["v"].score == 0 and checks["v"].mistake is None
