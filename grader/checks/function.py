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
from .outcome import Outcome
from .results import UNUSABLE, error_text, hidden_failure, short, shown
from .work import StudentWork

class StudentFailure(Exception):
    """The student's output could not be used (a part missing, a transform that does not apply)."""


@dataclass
class PreparedCase:
    index: int
    args: list
    kwargs: dict
    bound: dict = field(default_factory=dict)


@dataclass
class _Tally:
    credits: list[float] = field(default_factory=list)
    errors: int = 0
    first_failure: tuple | None = None
    detections: list[Detection] = field(default_factory=list)
    convention_shown: bool = False
    worst: Comparison | None = None

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

    def score(self, check: FunctionCheck, name: str, work: StudentWork, base: CheckResult) -> CheckResult:
        same = comparator(check)
        cases = self.cases(check)
        tally = _Tally()
        for case in cases:
            expected = self.reference(check, case)
            outcome = self._student(check, name, case, work)
            if outcome.missing:
                return base.model_copy(update=dict(status="failed", message=_missing(check, name, work),
                                                   feedback=check.feedback.failed))
            if not outcome.ok:
                tally.errors += 1
                tally.credits.append(0.0)
                if tally.first_failure is None:
                    tally.first_failure = (case, None, expected, error_text(outcome.error, check.visibility))
                if outcome.error.get("type") in ("KernelDied", "Timeout"):
                    tally.credits += [0.0] * (len(cases) - len(tally.credits))
                    break  # later calls cannot run in a dead or stuck kernel
                continue
            try:
                got = self._prepare_output(check, outcome.value, case)
            except StudentFailure as exc:
                tally.credits.append(0.0)
                tally.first_failure = tally.first_failure or (case, outcome.value, expected,
                                                              str(exc) if check.visibility == "public" else UNUSABLE)
                continue
            candidates = [(d, self._distractor_thunk(check, d, case)) for d in check.distractors]
            result = same(got, expected)
            if result.ok:
                tally.credits.append(1.0)
                tally.keep_worst(result)
                if check.convention and told_apart(expected, candidates, same):
                    tally.convention_shown = True
                continue
            detection = detect(got, expected, candidates, same)
            if detection is not None:
                tally.detections.append(detection)
                tally.credits.append(detection.credit)
                if detection.accepted:
                    continue
            else:
                tally.credits.append(0.0)
            if tally.first_failure is None:
                tally.first_failure = (case, got, expected, result.message if check.visibility == "public" else hidden_failure(result))
        return self._result(check, name, base, tally, len(cases))

    def _student(self, check: FunctionCheck, name: str, case: PreparedCase, work: StudentWork):
        if check.instance is None:
            return work.call(name, case.args, case.kwargs, timeout=self.call_timeout)
        spec = check.instance
        made = work.call(spec.class_, [self.evaluate(a, None, case.bound) for a in spec.args],
                         {k: self.evaluate(v, None, case.bound) for k, v in spec.kwargs.items()},
                         timeout=self.call_timeout, keep=True)
        if not made.ok:
            return made
        if made.handle is None:
            return Outcome(error={"type": "NoHandle", "message": f"the {spec.class_} object could not be kept in the student's process"})
        for attr, expr in spec.update.items():
            updated = work.update(made.handle, attr, self.evaluate(expr, None, case.bound), timeout=self.call_timeout)
            if not updated.ok:
                if updated.missing:
                    return Outcome(error={"type": "AttributeError", "message": f"{spec.class_} object has no attribute {attr!r} to set"})
                return updated
        return work.call_method(made.handle, name, case.args, case.kwargs, timeout=self.call_timeout)

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
        score = check.points * sum(tally.credits) / total
        passed = sum(c >= 1.0 for c in tally.credits)
        mistakes = [d for d in tally.detections if not d.accepted]
        accepted = [d for d in tally.detections if d.accepted]
        note = summary(accepted) or (check.convention if tally.convention_shown and not mistakes else None)
        worst = tally.worst
        errors = dict(threshold=check.threshold)
        if not hidden and worst is not None:
            errors.update(max_abs_error=worst.max_abs_error, max_rel_error=worst.max_rel_error, rel_error=worst.rel_error)
        common = dict(score=score, mistake=summary(mistakes), note=note, **errors)
        if tally.first_failure is None:
            message = f"{total}/{total} cases passed" + (f" ({note})" if note else "")
            return base.model_copy(update=dict(status="passed", message=message,
                                               feedback=None if accepted else check.feedback.passed, **common))
        case, got, expected, why = tally.first_failure
        status = "error" if tally.errors and passed == 0 and tally.errors == total - passed else "failed"
        named = f". {common['mistake']}" if common["mistake"] else ""
        if hidden:
            failed = total - passed
            message = f"{failed} of {total} hidden cases failed: {why}{named}"
            return base.model_copy(update=dict(status=status, message=message, feedback=check.feedback.failed, **common))
        inputs = ", ".join(short(a) for a in case.args)
        message = f"{passed}/{total} cases passed; case {case.index + 1} {name}({inputs}): {why}{named}"
        if worst is None and got is not None and check.metric == "rel_error":
            failing = comparator(check)(got, expected)
            common.update(rel_error=failing.rel_error, max_abs_error=failing.max_abs_error)
        return base.model_copy(update=dict(status=status, message=message, feedback=check.feedback.failed,
                                           got=shown(got), expected=shown(expected), **common))


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
