"""Scoring: every check of a rubric against a student's work, in the grader's own process.

Value checks mark against the true value first; if that fails they try the check's distractors
(known mistakes, accepted alternatives) and, when the expectation depends on earlier answers, the
value recomputed from the student's own earlier answers (error carried forward), and keep the best.
Function checks live in ``function_checks``, training checks in ``training``; training checks run
last, so that a long or stuck training run cannot cost the other checks their kernel. Hidden checks
never put expected values, inputs or outputs into the report.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

import numpy as np

from .compare import AnswerFormatError, Comparison, as_numeric, comparator
from .distractors import detect, told_apart
from .expressions import Evaluator, ExpressionError
from .function_checks import HIDDEN_FAILURE, FunctionChecker, ReferenceError_, error_text, shown as shown_value
from .report import CheckResult, QuestionResult
from .rubric import FunctionCheck, ManualCheck, Rubric, TrainingCheck, ValueCheck, answer_refs
from .runner.kernel import Outcome
from .student import StudentWork
from .training import TrainingChecker

__all__ = ["ReferenceError_", "Scorer"]


class Scorer:
    def __init__(self, rubric: Rubric, functions: Mapping[str, Callable]):
        self.rubric = rubric
        self.functions = functions
        self.answer_checks = rubric.answer_checks()
        self._true = Evaluator(functions, rubric.given, self.true_answer)
        self._true_values: dict[str, Any] = {}
        self.function_checks = FunctionChecker(functions, self._true, rubric.limits.call_timeout)

    def true_answer(self, name: str) -> Any:
        """The reference value of an answer, computed once."""
        if name not in self._true_values:
            try:
                self._true_values[name] = self._true(self.answer_checks[name].expected)
            except ExpressionError as exc:
                raise ReferenceError_(f"reference for {name!r}: {exc}") from exc
        return self._true_values[name]

    def precompute(self) -> dict[str, Any]:
        """Every expected value of the rubric (answers, and reference outputs per function case).

        Proves that the references (and distractors) run; also what a student kit ships for its public
        checks. Experiments' inputs are evaluated too (their data comes from the references).
        """
        values: dict[str, Any] = {}
        for check in self.rubric.checks():
            try:
                if isinstance(check, ValueCheck):
                    values[check.id] = self._true(check.expected)
                    for distractor in check.distractors:
                        self._true(distractor.as_call())
                elif isinstance(check, FunctionCheck):
                    values[check.id] = []
                    for case in self.function_checks.cases(check):
                        values[check.id].append(self.function_checks.reference(check, case))
                        for distractor in check.distractors:
                            self.function_checks._reference_call(check, distractor.call, case, distractor.kwargs)
            except ExpressionError as exc:
                raise ReferenceError_(f"check {check.id}: {exc}") from exc
            except ReferenceError_:
                raise
            except Exception as exc:  # noqa: BLE001 - a distractor that fails on the rubric's own inputs
                raise ReferenceError_(f"check {check.id}: a distractor failed: {type(exc).__name__}: {exc}") from exc
        for name, experiment in self.rubric.experiments.items():
            for expr in experiment.expressions():
                if not answer_refs(expr):
                    try:
                        self._true(expr)
                    except ExpressionError as exc:
                        raise ReferenceError_(f"experiment {name}: {exc}") from exc
        return values

    def _cases(self, check: FunctionCheck) -> list[tuple[list, dict]]:
        """The student's inputs of each case of a function check."""
        return [(case.args, case.kwargs) for case in self.function_checks.cases(check)]

    def score(self, work: StudentWork, manual: Mapping[str, float | tuple[float, str]] | None = None) -> list[QuestionResult]:
        manual = manual or {}
        training = TrainingChecker(self.rubric, self.functions, work)
        results: dict[int, CheckResult] = {}
        ordered = [(q, c) for q in self.rubric.questions for c in q.checks]
        # training checks last: a run that times out kills the kernel every other check needs
        for question, check in sorted(ordered, key=lambda qc: isinstance(qc[1], TrainingCheck)):
            started = time.monotonic()
            base = _base(check)
            if isinstance(check, ValueCheck):
                result = self._value(check, check.answer or question.id, work)
            elif isinstance(check, FunctionCheck):
                result = self.function_checks.score(check, check.function or question.id, work, base)
            elif isinstance(check, TrainingCheck):
                result = training.score(check, base)
            else:
                result = self._manual(check, question.id, manual)
            result.seconds = round(time.monotonic() - started, 4)
            results[id(check)] = result
        questions = []
        for question in self.rubric.questions:
            checks = [results[id(check)] for check in question.checks]
            questions.append(QuestionResult(id=question.id, title=question.title, checks=checks,
                                            score=round(sum(r.score for r in checks), 6), max_score=question.max_points))
        return questions

    # --- value checks -------------------------------------------------------------------------------

    def _value(self, check: ValueCheck, name: str, work: StudentWork) -> CheckResult:
        base = _base(check)
        outcome = work.answer(name)
        if not outcome.ok:
            return _unanswered(base, outcome, f"answer {name!r}", check.feedback.failed)
        try:
            expected = self._true(check.expected)
        except ExpressionError as exc:
            raise ReferenceError_(f"check {check.id}: {exc}") from exc
        same = comparator(check)
        result = same(outcome.value, expected)
        shown = dict(got=shown_value(outcome.value), expected=shown_value(expected))
        candidates = [(d, (lambda d=d: self._true(d.as_call()))) for d in check.distractors]
        if result.ok:
            note = check.convention if check.convention and told_apart(expected, candidates, same) else None
            return _passed(base, result, check.feedback.passed, shown, note)
        detection = detect(outcome.value, expected, candidates, same)
        follow = self._follow_through(check, outcome.value, work) if check.follow_through else None
        follow_credit = check.follow_through_credit if follow is not None else 0.0
        if detection is not None and detection.credit >= follow_credit:
            credit = check.points * detection.credit
            if detection.accepted:
                return _passed(base, result, None, shown, detection.message)
            return _failed(base, result, check.feedback.failed, shown).model_copy(update=dict(
                score=credit, mistake=detection.message, message=_with_mistake(base, result, detection.message)))
        if follow is not None:
            deps, recomputed = follow
            credit = check.points * check.follow_through_credit
            note = f"consistent with your earlier answer{'s' if len(deps) > 1 else ''} for {', '.join(deps)}"
            if check.follow_through_credit < 1:
                note += f" ({check.follow_through_credit:.0%} credit for follow-through)"
            return base.model_copy(update=dict(
                status="passed" if credit >= check.points else "failed", score=credit, message=note,
                follow_through=True, max_abs_error=recomputed.max_abs_error, max_rel_error=recomputed.max_rel_error,
                rel_error=recomputed.rel_error, threshold=check.threshold, feedback=check.feedback.passed,
                **_public(base, shown)))
        return _failed(base, result, check.feedback.failed, shown)

    def _follow_through(self, check: ValueCheck, got: Any, work: StudentWork) -> tuple[list[str], Comparison] | None:
        """Mark against the value recomputed from the student's own earlier answers, if they differ."""
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
        evaluator = Evaluator(self.functions, self.rubric.given,
                              lambda d: student[d] if student.get(d) is not None else self.true_answer(d))
        try:
            recomputed = evaluator(check.expected)
        except ExpressionError:
            return None  # the student's earlier answer is unusable as input (a wrong shape, say)
        result = comparator(check)(got, recomputed)
        return (wrong, result) if result.ok else None

    # --- manual checks ------------------------------------------------------------------------------

    def _manual(self, check: ManualCheck, question_id: str, manual: Mapping[str, Any]) -> CheckResult:
        base = _base(check)
        entry = manual.get(check.id, manual.get(question_id))
        if entry is None:
            return base.model_copy(update=dict(status="pending", message="awaiting a TA's grading"))
        points, comment = entry if isinstance(entry, tuple) else (entry, "")
        points = max(0.0, min(float(points), check.points))
        return base.model_copy(update=dict(status="passed" if points >= check.points else "failed", score=points,
                                           message=f"graded by a TA{': ' + comment if comment else ''}"))


# --- building results -----------------------------------------------------------------------------


def _base(check: Any) -> CheckResult:
    tolerance = getattr(check, "tolerance", None) if getattr(check, "metric", "allclose") == "allclose" else None
    return CheckResult(id=check.id, kind=check.kind, visibility=check.visibility, status="failed", score=0.0,
                       max_score=check.points, rtol=tolerance.rtol if tolerance else None, atol=tolerance.atol if tolerance else None,
                       threshold=getattr(check, "threshold", None))


def _public(base: CheckResult, shown: dict) -> dict:
    return shown if base.visibility == "public" else {}


def _errors(base: CheckResult, result: Comparison) -> dict:
    if base.visibility != "public":
        return {}
    return dict(max_abs_error=result.max_abs_error, max_rel_error=result.max_rel_error, rel_error=result.rel_error)


def _passed(base: CheckResult, result: Comparison, feedback: str | None, shown: dict, note: str | None = None) -> CheckResult:
    message = "correct" + (f" ({note})" if note else "")
    return base.model_copy(update=dict(status="passed", score=base.max_score, message=message, feedback=feedback, note=note,
                                       **_errors(base, result), **_public(base, shown)))


def _failed(base: CheckResult, result: Comparison, feedback: str | None, shown: dict) -> CheckResult:
    message = result.message if base.visibility == "public" else HIDDEN_FAILURE
    return base.model_copy(update=dict(status="failed", message=message, feedback=feedback,
                                       **_errors(base, result), **_public(base, shown)))


def _with_mistake(base: CheckResult, result: Comparison, mistake: str) -> str:
    return f"{result.message if base.visibility == 'public' else HIDDEN_FAILURE}. {mistake}"


def _unanswered(base: CheckResult, outcome: Outcome, what: str, feedback: str | None) -> CheckResult:
    if outcome.missing:
        return base.model_copy(update=dict(status="failed", message=f"no {what} found", feedback=feedback))
    return base.model_copy(update=dict(status="error", message=error_text(outcome.error, base.visibility), feedback=feedback))


def _same(a: np.ndarray, b: Any) -> bool:
    b = np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))
