"""Value checks: a named answer against a reference value, with known mistakes and error carried forward.

The answer is marked against the true value first; if that fails, against the check's distractors
(known mistakes, accepted alternatives) and, when the expectation depends on earlier answers, against
the value recomputed from the student's own earlier answers (follow-through), keeping the best.
Follow-through is withheld where the wrong earlier answer makes the step trivial (the recomputed value
is all zeros, or one of the step's inputs unchanged, while the true answer is not): copying zeros
through a chain shows no understanding of it, and the feedback says why.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from ..errors import ExpressionError, ReferenceError_
from ..report import CheckResult
from ..rubric import ValueCheck, answer_refs, refs
from .compare import AnswerFormatError, Comparison, as_numeric, comparator
from .distractors import detect, told_apart
from .expressions import Evaluator
from .results import STANDARD, base_result, failed, hidden_failure, passed, public, shown, unanswered, with_mistake
from .work import StudentWork


class ValueChecker:
    """Scores value checks against the true answers (``true_answer``) of one rubric."""

    def __init__(self, functions: Mapping[str, Callable], given: Mapping[str, Any], true: Evaluator,
                 true_answer: Callable[[str], Any]):
        self.functions = functions
        self.given = given
        self.true = true
        self.true_answer = true_answer

    def score(self, check: ValueCheck, name: str, work: StudentWork) -> CheckResult:
        base = base_result(check)
        outcome = work.answer(name)
        if not outcome.ok:
            return unanswered(base, outcome, f"answer {name!r}", check.feedback.failed)
        try:
            expected = self.true(check.expected)
        except ExpressionError as exc:
            raise ReferenceError_(f"check {check.id}: {exc}") from exc
        same = comparator(check)
        result = same(outcome.value, expected)
        values = dict(got=shown(outcome.value), expected=shown(expected))
        candidates = [(d, (lambda d=d: self.true(d.as_call()))) for d in check.distractors]
        if result.ok:
            distinct = told_apart(expected, [c for c in candidates if c[0].credit >= 1], same)
            note = check.convention if check.convention and distinct else None
            return passed(base, result, check.feedback.passed, values, note).model_copy(update=dict(
                convention_credit={STANDARD if distinct else "": check.points}))
        detection = detect(outcome.value, expected, candidates, same)
        follow = self._follow_through(check, outcome.value, work) if check.follow_through else None
        withheld, follow = (follow, None) if isinstance(follow, str) else (None, follow)
        follow_credit = check.follow_through_credit if follow is not None else 0.0
        if detection is not None and detection.credit >= follow_credit:
            credit = check.points * detection.credit
            if detection.accepted:
                return passed(base, result, None, values, detection.message).model_copy(update=dict(
                    convention_credit={detection.message: check.points}))
            return failed(base, result, check.feedback.failed, values).model_copy(update=dict(
                score=credit, mistake=detection.message, message=with_mistake(base, result, detection.message)))
        if withheld is not None:
            return failed(base, result, check.feedback.failed, values).model_copy(update=dict(
                message=f"{result.message if base.visibility == 'public' else hidden_failure(result)}; {withheld}"))
        if follow is not None:
            deps, recomputed, recomputed_value = follow
            credit = check.points * check.follow_through_credit
            note = f"consistent with your earlier answer{'s' if len(deps) > 1 else ''} for {', '.join(deps)}"
            if check.follow_through_credit < 1:
                note += f" ({check.follow_through_credit:.0%} credit for follow-through)"
            return base.model_copy(update=dict(
                status="passed" if credit >= check.points else "failed", score=credit, message=note,
                follow_through=True, max_abs_error=recomputed.max_abs_error, max_rel_error=recomputed.max_rel_error,
                rel_error=recomputed.rel_error, threshold=check.threshold, feedback=check.feedback.passed,
                **public(base, dict(got=values["got"], expected=shown(recomputed_value), true_value=values["expected"]))))
        if result.singleton and check.singleton_axes > 0:  # right values, an axis of length 1 too many or too few
            credit = check.points * check.singleton_axes
            return failed(base, result, check.feedback.failed, values).model_copy(update=dict(
                score=credit, message=f"{result.message if base.visibility == 'public' else hidden_failure(result)} "
                                      f"({credit:g} of {check.points:g} for the right values)",
                **public(base, dict(note=result.message))))  # (it names the expected shape)
        return failed(base, result, check.feedback.failed, values)

    def _follow_through(self, check: ValueCheck, got: Any, work: StudentWork) -> tuple[list[str], Comparison, Any] | str | None:
        """Mark against the value recomputed from the student's own earlier answers, if they differ: the
        dependencies and the comparison when it holds, a message when it holds but is withheld, else None."""
        deps = sorted(set(answer_refs(check.expected)))
        if not deps:
            return None
        student: dict[str, Any] = {}
        for dep in deps:
            outcome = work.answer(dep)
            try:
                student[dep] = as_numeric(outcome.value) if outcome.ok else None
            except AnswerFormatError:
                student[dep] = None
        wrong = [d for d in deps if student[d] is not None and not _same(student[d], self.true_answer(d))]
        if not wrong:
            return None
        evaluator = Evaluator(self.functions, self.given,
                              lambda d: student[d] if student.get(d) is not None else self.true_answer(d))
        try:
            recomputed = evaluator(check.expected)
        except ExpressionError as exc:
            if isinstance(exc.__cause__, LookupError):  # a student kit, which cannot compute it: grading will
                return (f"this may still earn follow-through credit when graded (from your earlier answer"
                        f"{'s' if len(wrong) > 1 else ''} for {', '.join(wrong)}; the kit cannot compute that)")
            return None  # the student's earlier answer is unusable as input (a wrong shape, say)
        result = comparator(check)(got, recomputed)
        if not result.ok:
            return None
        trivial = self._trivial(check, recomputed, evaluator)
        if trivial is not None:
            earlier = f"answer{'s' if len(wrong) > 1 else ''} for {', '.join(wrong)}"
            return f"no follow-through credit: with your earlier {earlier} this step becomes trivial ({trivial}), while the right answer is not"
        return wrong, result, recomputed

    def _trivial(self, check: ValueCheck, recomputed: Any, student: Evaluator) -> str | None:
        """How the recomputed expectation is trivial where the true one is not (all zeros, or an input
        of the step unchanged), or None."""
        truth = self.true(check.expected)
        if _zeros(recomputed) and not _zeros(truth):
            return "all zeros"
        for ref in sorted({*refs(check.expected, "$"), *refs(check.expected, "@")}):
            expr = ("$" if ref in self.given else "@") + ref
            try:
                value, true_value = student(expr), self.true(expr)
            except ExpressionError:
                continue
            if _close(recomputed, value) and not _close(truth, true_value):
                return f"it leaves {ref} unchanged"
        return None


def _zeros(value: Any) -> bool:
    try:
        array = as_numeric(value)
    except AnswerFormatError:
        return False
    return array.size > 0 and bool(np.all(np.abs(array) <= 1e-12))


def _close(a: Any, b: Any) -> bool:
    try:
        a, b = as_numeric(a), as_numeric(b)
    except AnswerFormatError:
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))


def _same(a: np.ndarray, b: Any) -> bool:
    b = np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))
