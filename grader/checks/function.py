"""Function checks: the student's function (or a method of their object) against the reference, case by case.

For each case the grader evaluates the inputs (``let`` bindings first, then the args), calls the
reference in its own process and the student's function in the sandbox, optionally takes a part of
both outputs (``select``) and transforms the student's output (``transform``), then compares with the
check's metric. A failing case is also compared with the check's distractors, which may name the
mistake (and give partial credit). Hidden checks report scores and named mistakes only: never
inputs, outputs or expected values.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import ExpressionError, ReferenceError_
from ..report import CheckResult
from ..rubric import FunctionCheck
from .compare import Comparison, comparator
from .distractors import Detection, detect, summary, told_apart
from .expressions import Evaluator
from .outcome import Call, Fresh
from .results import STANDARD, UNUSABLE, error_text, hidden_failure, short, shown
from .work import StudentWork

def callable_name(check: FunctionCheck, name: str) -> str:
    """What must exist in the student's code for the check: its function, or the class of its instances."""
    return check.instance.class_ if check.instance else name


class StudentFailure(Exception):
    """The student's output could not be used (a part missing, a transform that does not apply)."""


@dataclass
class PreparedCase:
    index: int
    args: list
    kwargs: dict
    bound: dict = field(default_factory=dict)


@dataclass
class _Failure:
    """The first case that failed: what the message shows (public checks) and the figures of its comparison."""

    case: PreparedCase
    got: Any
    expected: Any
    why: str
    comparison: Comparison | None = None


@dataclass
class _Tally:
    credits: list[float] = field(default_factory=list)
    conventions: list[str | None] = field(default_factory=list)  # per case: STANDARD, an accepted alternative, or None
    errors: int = 0
    first_failure: _Failure | None = None
    detections: list[Detection] = field(default_factory=list)
    convention_shown: bool = False
    shape_note: str | None = None
    worst: Comparison | None = None

    def add(self, credit: float, convention: str | None = None) -> None:
        self.credits.append(credit)
        self.conventions.append(convention)

    def fail(self, failure: _Failure) -> None:
        self.first_failure = self.first_failure or failure

    def keep_worst(self, result: Comparison) -> None:
        size = lambda c: c.rel_error if c.rel_error is not None else (c.max_abs_error or 0)  # noqa: E731
        if self.worst is None or size(result) > size(self.worst):
            self.worst = result


class FunctionChecker:
    """Scores function checks; one per Scorer (reference functions and the true-answer evaluator)."""

    def __init__(self, functions: Mapping[str, Callable], evaluator: Evaluator, call_timeout: float):
        self.functions = functions
        self.evaluate = evaluator
        self.call_timeout = call_timeout

    # --- cases and reference values -----------------------------------------------------------------

    def cases(self, check: FunctionCheck) -> list[PreparedCase]:
        prepared = []
        for case in check.cases:
            bound = self.evaluate.bind(case.let)
            prepared.append(PreparedCase(len(prepared), [self.evaluate(a, None, bound) for a in case.args],
                                         {k: self.evaluate(v, None, bound) for k, v in case.kwargs.items()}, bound))
        spec = check.random_cases
        if spec is not None:
            for i in range(spec.count):
                rng = np.random.default_rng([spec.seed, i])
                bound = self.evaluate.bind(spec.let, rng)
                prepared.append(PreparedCase(len(prepared), [self.evaluate(a, rng, bound) for a in spec.args],
                                             {k: self.evaluate(v, rng, bound) for k, v in spec.kwargs.items()}, bound))
        return prepared

    def reference(self, check: FunctionCheck, case: PreparedCase) -> Any:
        try:
            return self._reference_call(check, check.reference, case, {})
        except Exception as exc:  # noqa: BLE001
            raise ReferenceError_(f"reference {check.reference}() failed on case {case.index + 1} of {check.id}: "
                                  f"{type(exc).__name__}: {exc}") from exc

    def _reference_call(self, check: FunctionCheck, name: str, case: PreparedCase, extra: dict) -> Any:
        """A reference (or distractor) function called on a copy of the case's inputs, with ``select`` applied."""
        ref_args = [self.evaluate(a, None, case.bound) for a in check.reference_args]
        kwargs = {**case.kwargs, **{k: self.evaluate(v, None, case.bound) for k, v in extra.items()}}
        output = self.functions[name](*copy.deepcopy(ref_args), *copy.deepcopy(case.args), **copy.deepcopy(kwargs))
        return select(output, check.select)

    # --- scoring ------------------------------------------------------------------------------------

    def prefetch(self, checks: list[tuple[FunctionCheck, str]], work: StudentWork) -> None:
        """Every case of every function check asked in one request (public and hidden, every function's,
        the forward pass's and the gradients'), so that a submission costs one round trip for all of
        them; ``score`` then reads its cases from ``work``'s answers. A case not run (after one that
        timed out) is asked again by its own check."""
        wanted: list[tuple[str, Call]] = []
        for check, name in checks:
            if not work.has(callable_name(check, name)):
                continue
            try:
                cases = self.cases(check)
            except Exception:  # noqa: BLE001 - the check's own scoring reports it
                continue
            wanted += [(name, self._call(check, case)) for case in cases]
        if wanted:
            work.call_many(wanted, timeout=self.call_timeout)

    def score(self, check: FunctionCheck, name: str, work: StudentWork, base: CheckResult) -> CheckResult:
        same = comparator(check)
        if not work.has(callable_name(check, name)):  # before any case is prepared
            return base.model_copy(update=dict(status="failed", message=_missing(check, name, work), feedback=check.feedback.failed))
        cases = self.cases(check)
        tally = _Tally()
        # every case in one request (an object's: made afresh, its weights set, its method called)
        batch = work.call_many([(name, self._call(check, case)) for case in cases], timeout=self.call_timeout)
        for case in cases:
            expected = self.reference(check, case)
            outcome = batch[case.index]
            if outcome.missing:
                return base.model_copy(update=dict(status="failed", message=_missing(check, name, work),
                                                   feedback=check.feedback.failed))
            if not outcome.ok:
                tally.errors += 1
                tally.add(0.0)
                tally.fail(_Failure(case, None, expected, error_text(outcome.error, check.visibility)))
                if outcome.error.get("type") in ("KernelDied", "Timeout"):
                    while len(tally.credits) < len(cases):
                        tally.add(0.0)
                    break  # later calls cannot run in a dead or stuck kernel
                continue
            try:
                got = self._prepare_output(check, outcome.value, case)
            except StudentFailure as exc:
                tally.add(0.0)
                tally.fail(_Failure(case, outcome.value, expected, str(exc) if check.visibility == "public" else UNUSABLE))
                continue
            candidates = [(d, self._distractor_thunk(check, d, case)) for d in check.distractors]
            result = same(got, expected)
            if result.ok:
                # the right answer's convention, where an accepted alternative would have given another output
                distinct = told_apart(expected, [c for c in candidates if c[0].credit >= 1], same)
                tally.add(1.0, STANDARD if distinct else None)
                tally.keep_worst(result)
                tally.convention_shown = tally.convention_shown or bool(check.convention and distinct)
                continue
            detection = detect(got, expected, candidates, same)
            if detection is not None:
                tally.detections.append(detection)
                tally.add(detection.credit, detection.message if detection.accepted else None)
                if detection.accepted:
                    continue
            elif result.singleton and check.singleton_axes > 0:
                tally.add(check.singleton_axes, STANDARD)
                tally.shape_note = tally.shape_note or result.message
            else:
                tally.add(0.0)
            tally.fail(_Failure(case, got, expected, result.message if check.visibility == "public" else hidden_failure(result), result))
        return self._result(check, name, base, tally, len(cases))

    def _call(self, check: FunctionCheck, case: PreparedCase) -> Call:
        spec = check.instance
        if spec is None:
            return Call(case.args, case.kwargs)
        return Call(case.args, case.kwargs, Fresh(
            spec.class_, [self.evaluate(a, None, case.bound) for a in spec.args],
            {k: self.evaluate(v, None, case.bound) for k, v in spec.kwargs.items()},
            {attr: self.evaluate(expr, None, case.bound) for attr, expr in spec.update.items()}))

    def _prepare_output(self, check: FunctionCheck, value: Any, case: PreparedCase) -> Any:
        try:
            value = select(value, check.select)
        except LookupError as exc:
            raise StudentFailure(f"could not take {path_text(check.select)} of the result: {exc}") from None
        if check.transform is None:
            return value
        spec = check.transform
        try:
            return self.functions[spec.call](value, *[self.evaluate(a, None, case.bound) for a in spec.args],
                                             **{k: self.evaluate(v, None, case.bound) for k, v in spec.kwargs.items()})
        except ExpressionError:
            raise
        except Exception as exc:  # noqa: BLE001 - the student's output does not suit the transform
            raise StudentFailure(f"could not use the result ({type(exc).__name__}: {exc})") from None

    def _distractor_thunk(self, check: FunctionCheck, distractor, case: PreparedCase) -> Callable[[], Any]:
        return lambda: self._reference_call(check, distractor.call, case, distractor.kwargs)

    def _result(self, check: FunctionCheck, name: str, base: CheckResult, tally: _Tally, total: int) -> CheckResult:
        hidden = check.visibility == "hidden"
        passed = sum(c >= 1.0 for c in tally.credits)
        if check.partial == "all_or_nothing":
            score = check.points if passed == total else 0.0
        else:
            score = check.points * sum(tally.credits) / total
        mistakes = [d for d in tally.detections if not d.accepted]
        accepted = [d for d in tally.detections if d.accepted]
        note = summary(accepted) or (check.convention if tally.convention_shown and not mistakes else None)
        failure = tally.first_failure
        figures = failure.comparison if failure is not None and failure.comparison is not None else tally.worst
        errors = dict(threshold=check.threshold)
        if not hidden and figures is not None:
            errors.update(max_abs_error=figures.max_abs_error, max_rel_error=figures.max_rel_error, rel_error=figures.rel_error)
        by_convention = {}
        for credit, convention in zip(tally.credits, tally.conventions):
            by_convention[convention or ""] = by_convention.get(convention or "", 0.0) + credit
        common = dict(score=score, mistake=summary(mistakes), note=note or tally.shape_note,
                      convention_credit={k: check.points * v / total for k, v in by_convention.items()}, **errors)
        if failure is None:
            message = f"{total}/{total} cases passed" + (f" ({note})" if note else "")
            return base.model_copy(update=dict(status="passed", message=message,
                                               feedback=None if accepted else check.feedback.passed, **common))
        status = "error" if tally.errors and passed == 0 and tally.errors == total - passed else "failed"
        named = f". {common['mistake']}" if common["mistake"] else ""
        credit = _credit_text(check, score)
        if hidden:
            failed = total - passed
            message = f"{failed} of {total} hidden cases failed{credit}: {failure.why}{named}"
            return base.model_copy(update=dict(status=status, message=message, feedback=check.feedback.failed, **common))
        inputs = ", ".join([*(short(a) for a in failure.case.args), *(f"{k}={short(v)}" for k, v in failure.case.kwargs.items())])
        message = f"{passed}/{total} cases passed{credit}; case {failure.case.index + 1} {name}({inputs}): {failure.why}{named}"
        return base.model_copy(update=dict(status=status, message=message, feedback=check.feedback.failed,
                                           got=shown(failure.got), expected=shown(failure.expected), **common))


def _credit_text(check: FunctionCheck, score: float) -> str:
    """How partial credit was given, when it was: "(0.6 of 1 point, per case)"."""
    if check.partial == "all_or_nothing":
        return " (all cases must pass)"
    if 0 < score < check.points:
        return f" ({score:.3g} of {check.points:g} point{'s' if check.points != 1 else ''}, per case)"
    return ""


# --- helpers ----------------------------------------------------------------------------------------


def select(value: Any, path: list) -> Any:
    """``value[p0][p1]...``; a LookupError says which step did not apply."""
    for part in path:
        if isinstance(part, int) and isinstance(value, (tuple, list)):
            if not -len(value) <= part < len(value):
                raise LookupError(f"it has {len(value)} items, not {part + 1}")
            value = value[part]
        elif isinstance(part, str) and isinstance(value, dict):
            if part not in value:
                raise LookupError(f"no key {part!r} (keys: {', '.join(map(str, list(value)[:8]))})")
            value = value[part]
        else:
            raise LookupError(f"expected a {'tuple' if isinstance(part, int) else 'dict'}, got a {type(value).__name__}")
    return value


def path_text(path: list) -> str:
    return "".join(f"[{p!r}]" for p in path)


def _missing(check: FunctionCheck, name: str, work: StudentWork) -> str:
    what = f"class named {check.instance.class_!r}" if check.instance else f"function named {name!r}"
    if not work.has_code:
        return f"no {what} found (no code was handed in)"
    problems = work.import_problems() if check.visibility == "public" else []  # (student text: public checks only)
    if problems:
        return f"no {what} found: {'; '.join(problems)}"
    return f"no {what} found"
