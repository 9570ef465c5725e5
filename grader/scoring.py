"""Scoring: every check of a rubric against a student's work, in the grader's own process.

Value checks mark against the true value first; if that fails and the expectation depends on earlier
answers, they mark again against the value recomputed from the student's own earlier answers (error
carried forward) and keep the better. Function checks call the student's function and the reference
on the same inputs. Hidden checks never put expected values, inputs or outputs into the report.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

import numpy as np

from .compare import AnswerFormatError, Comparison, as_numeric, compare
from .expressions import Evaluator, ExpressionError
from .report import CheckResult, QuestionResult
from .rubric import FunctionCheck, ManualCheck, Rubric, ValueCheck, answer_refs
from .runner.kernel import Outcome
from .student import StudentWork

_HIDDEN_FAILURE = "does not match on the hidden inputs"


class ReferenceError_(Exception):
    """A reference function failed: the rubric or reference is broken, not the submission."""


class Scorer:
    def __init__(self, rubric: Rubric, functions: Mapping[str, Callable]):
        self.rubric = rubric
        self.functions = functions
        self.answer_checks = rubric.answer_checks()
        self._true = Evaluator(functions, rubric.given, self.true_answer)
        self._true_values: dict[str, Any] = {}

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

        Proves that the references run; also what a student kit ships for its public checks.
        """
        values: dict[str, Any] = {}
        for check in self.rubric.checks():
            if isinstance(check, ValueCheck):
                try:
                    values[check.id] = self._true(check.expected)
                except ExpressionError as exc:
                    raise ReferenceError_(f"check {check.id}: {exc}") from exc
            elif isinstance(check, FunctionCheck):
                values[check.id] = [self._reference(check, index, args, kwargs) for index, (args, kwargs) in enumerate(self._cases(check))]
        return values

    def _reference(self, check: FunctionCheck, index: int, args: list, kwargs: dict) -> Any:
        try:
            return self.functions[check.reference](*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            raise ReferenceError_(f"reference {check.reference}() failed on case {index + 1} of {check.id}: {exc}") from exc

    def score(self, work: StudentWork, manual: Mapping[str, float | tuple[float, str]] | None = None) -> list[QuestionResult]:
        manual = manual or {}
        questions = []
        for question in self.rubric.questions:
            results = []
            for check in question.checks:
                started = time.monotonic()
                if isinstance(check, ValueCheck):
                    result = self._value(check, check.answer or question.id, work)
                elif isinstance(check, FunctionCheck):
                    result = self._function(check, check.function or question.id, work)
                else:
                    result = self._manual(check, question.id, manual)
                result.seconds = round(time.monotonic() - started, 4)
                results.append(result)
            questions.append(QuestionResult(id=question.id, title=question.title, checks=results,
                                            score=round(sum(r.score for r in results), 6), max_score=question.max_points))
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
        result = compare(outcome.value, expected, check.tolerance)
        shown = dict(got=_plain(outcome.value), expected=_plain(expected))
        if result.ok:
            return _passed(base, result, check.feedback.passed, shown)
        follow = self._follow_through(check, outcome.value, work) if check.follow_through else None
        if follow is not None:
            deps, recomputed = follow
            credit = check.points * check.follow_through_credit
            note = f"consistent with your earlier answer{'s' if len(deps) > 1 else ''} for {', '.join(deps)}"
            if check.follow_through_credit < 1:
                note += f" ({check.follow_through_credit:.0%} credit for follow-through)"
            return base.model_copy(update=dict(
                status="passed" if credit >= check.points else "failed", score=credit, message=note,
                follow_through=True, max_abs_error=recomputed.max_abs_error, max_rel_error=recomputed.max_rel_error,
                feedback=check.feedback.passed, **_public(base, shown)))
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
        result = compare(got, recomputed, check.tolerance)
        return (wrong, result) if result.ok else None

    # --- function checks ----------------------------------------------------------------------------

    def _function(self, check: FunctionCheck, name: str, work: StudentWork) -> CheckResult:
        base = _base(check)
        cases = self._cases(check)
        passed, first_failure, worst = 0, None, None
        errors = 0
        for index, (args, kwargs) in enumerate(cases):
            expected = self._reference(check, index, args, kwargs)
            outcome = work.call(name, args, kwargs, timeout=self.rubric.limits.call_timeout)
            if outcome.missing:
                return base.model_copy(update=dict(status="failed", message=f"no function named {name!r} found",
                                                   feedback=check.feedback.failed))
            if not outcome.ok:
                errors += 1
                first_failure = first_failure or (index, args, None, expected, _error_text(outcome.error, check.visibility))
                if outcome.error.get("type") in ("KernelDied", "Timeout"):
                    break  # later calls cannot run in a dead or stuck kernel
                continue
            result = compare(outcome.value, expected, check.tolerance)
            if result.ok:
                passed += 1
                worst = result if worst is None or (result.max_abs_error or 0) > (worst.max_abs_error or 0) else worst
            elif first_failure is None:
                first_failure = (index, args, outcome.value, expected, result.message)
        total = len(cases)
        score = check.points * passed / total
        tol = dict(max_abs_error=worst.max_abs_error if worst else None, max_rel_error=worst.max_rel_error if worst else None)
        if first_failure is None:
            return base.model_copy(update=dict(status="passed", score=score, message=f"{total}/{total} cases passed",
                                               feedback=check.feedback.passed, **tol))
        index, args, got, expected, why = first_failure
        status = "error" if errors and passed == 0 and errors == total - passed else "failed"
        if check.visibility == "hidden":
            message = f"{total - passed} of {total} hidden cases failed: {why if got is None else _HIDDEN_FAILURE}"
            return base.model_copy(update=dict(status=status, score=score, message=message, feedback=check.feedback.failed))
        inputs = ", ".join(_short(a) for a in args)
        message = f"{passed}/{total} cases passed; case {index + 1} {name}({inputs}): {why}"
        return base.model_copy(update=dict(status=status, score=score, message=message, feedback=check.feedback.failed,
                                           got=_plain(got), expected=_plain(expected)))

    def _cases(self, check: FunctionCheck) -> list[tuple[list, dict]]:
        cases = []
        for case in check.cases:
            cases.append(([self._true(a) for a in case.args], {k: self._true(v) for k, v in case.kwargs.items()}))
        spec = check.random_cases
        if spec is not None:
            for i in range(spec.count):
                rng = np.random.default_rng([spec.seed, i])
                cases.append(([self._true(a, rng) for a in spec.args], {k: self._true(v, rng) for k, v in spec.kwargs.items()}))
        return cases

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
    tolerance = getattr(check, "tolerance", None)
    return CheckResult(id=check.id, kind=check.kind, visibility=check.visibility, status="failed", score=0.0,
                       max_score=check.points, rtol=tolerance.rtol if tolerance else None, atol=tolerance.atol if tolerance else None)


def _public(base: CheckResult, shown: dict) -> dict:
    return shown if base.visibility == "public" else {}


def _passed(base: CheckResult, result: Comparison, feedback: str | None, shown: dict) -> CheckResult:
    return base.model_copy(update=dict(status="passed", score=base.max_score, message="correct", feedback=feedback,
                                       max_abs_error=result.max_abs_error, max_rel_error=result.max_rel_error,
                                       **_public(base, shown)))


def _failed(base: CheckResult, result: Comparison, feedback: str | None, shown: dict) -> CheckResult:
    message = result.message if base.visibility == "public" else _HIDDEN_FAILURE
    return base.model_copy(update=dict(status="failed", message=message, feedback=feedback,
                                       max_abs_error=result.max_abs_error if base.visibility == "public" else None,
                                       max_rel_error=result.max_rel_error if base.visibility == "public" else None,
                                       **_public(base, shown)))


def _unanswered(base: CheckResult, outcome: Outcome, what: str, feedback: str | None) -> CheckResult:
    if outcome.missing:
        return base.model_copy(update=dict(status="failed", message=f"no {what} found", feedback=feedback))
    return base.model_copy(update=dict(status="error", message=_error_text(outcome.error, base.visibility), feedback=feedback))


def _error_text(error: dict, visibility: str) -> str:
    kind = error.get("type", "Error")
    if kind == "Unreadable":
        return error.get("message", "")
    if kind == "Timeout":
        return "did not finish within the time limit"
    if kind == "KernelDied":
        return "the kernel died: " + error.get("message", "")
    if visibility == "hidden":
        return f"raised {kind}"
    where = error.get("where") or {}
    line = f" ({where.get('file')}, line {where.get('line')}: {where.get('code')})" if where.get("line") else ""
    return f"raised {kind}: {error.get('message', '')}{line}"


def _same(a: np.ndarray, b: Any) -> bool:
    b = np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))


def _plain(value: Any) -> Any:
    """A value as JSON-friendly data for the report."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


def _short(value: Any) -> str:
    text = np.array2string(np.asarray(value), precision=4, separator=", ", threshold=12) if not isinstance(value, (str, dict)) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
