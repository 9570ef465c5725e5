"""Training checks: the student's training code runs in their sandbox, the grader measures the result.

An *experiment* (rubric ``experiments``) is a list of steps, each a call into the student's process
(``train_cnn(X, y)``, ``net.train(...)``) made under fixed seeds (random, numpy, torch; deterministic
torch kernels; a fixed thread count) and within a time budget. Models stay in the student's process;
the grader holds handles. *Metrics* are then measured by the grader: it sends data of its choosing to
the model's ``predict`` (or ``translate``), gets plain arrays back and computes accuracy itself; it can
also read a step's plain-data result (a loss history) or one of the student's answers (a claimed
accuracy). A training check states a requirement over those metrics. Steps run at most once per
submission, all of them in order, the first time a check needs their experiment.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

import numpy as np

from ..report import CheckResult
from ..rubric import Experiment, Metric, Rubric, Step, TrainingCheck
from .compare import AnswerFormatError, as_numeric
from .expressions import Evaluator
from .outcome import Outcome
from .requirements import RelationError, holds, lookup, names, parse
from .results import error_text
from .work import StudentWork


class MetricFailure(Exception):
    """A metric could not be measured; ``status`` is "failed" (the student's fault) or "error" (it raised)."""

    def __init__(self, message: str, status: str = "failed"):
        super().__init__(message)
        self.status = status


class _MissingAnswer(Exception):
    pass


def _once(memo: dict[str, Any], name: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` the first time ``name`` is asked for; later, the same value or the same failure
    again (a training step that failed is not run a second time)."""
    if name not in memo:
        try:
            memo[name] = compute()
        except MetricFailure as exc:
            memo[name] = exc
    if isinstance(memo[name], MetricFailure):
        raise memo[name]
    return memo[name]


class ExperimentRun:
    """One experiment for one submission: steps run on demand and once, metrics measured here."""

    def __init__(self, name: str, experiment: Experiment, work: StudentWork, functions: Mapping[str, Callable],
                 given: Mapping[str, Any], call_timeout: float):
        self.name = name
        self.experiment = experiment
        self.work = work
        self.call_timeout = call_timeout
        self.evaluate = Evaluator(functions, given, self._answer)
        self.steps = {step.name: step for step in experiment.steps}
        self._outcomes: dict[str, Outcome | MetricFailure] = {}
        self._metrics: dict[str, Any] = {}
        self.spent = 0.0

    def _answer(self, name: str) -> Any:
        outcome = self.work.answer(name)
        if not outcome.ok:
            raise _MissingAnswer(name)
        return outcome.value

    # --- steps ----------------------------------------------------------------------------------------

    def step(self, name: str) -> Outcome:
        """The step's outcome (a handle, or plain data); a MetricFailure when it did not work."""
        return _once(self._outcomes, name, lambda: self._run(self.steps[name]))

    def _run(self, step: Step) -> Outcome:
        parent = self.step(step.of) if step.of else None
        if parent is not None and parent.handle is None:
            raise MetricFailure(f"{_what(step)}: the object from {step.of} could not be kept in the student's process", "error")
        if not self.work.has(step.call, parent.handle if parent is not None else None):
            raise MetricFailure(self._missing(step))  # (before its inputs are prepared and sent)
        budget = self.experiment.time_budget
        remaining = budget - self.spent
        if remaining < 1:
            raise MetricFailure(f"{_what(step)}: not run, the time budget of {budget:g} CPU seconds is used up", "error")
        try:
            args = [self.evaluate(a) for a in step.args]
            kwargs = {k: self.evaluate(v) for k, v in step.kwargs.items()}
            updates = {k: self.evaluate(v) for k, v in step.update.items()}
        except _MissingAnswer as exc:
            raise MetricFailure(f"{_what(step)} needs your answer {exc.args[0]!r}, which was not found or not readable") from None
        if self.work.has_code:
            seeded = self.work.seed(self.experiment.seed, self.experiment.threads)
            if not seeded.ok and not seeded.missing:
                raise MetricFailure(f"could not seed the run: {error_text(seeded.error, 'public')}", "error")
        started = time.monotonic()
        outcome = self.work.call_within(step.call, args, kwargs, budget=remaining, keep=step.keep,
                                        handle=parent.handle if parent is not None else None)
        self.spent += outcome.cpu if outcome.cpu is not None else time.monotonic() - started  # (CPU seconds, where known)
        if outcome.missing:
            raise MetricFailure(self._missing(step))
        if not outcome.ok:
            if outcome.error.get("type") in ("Timeout", "BudgetExceeded"):
                raise MetricFailure(f"{_what(step)} did not finish within the time budget of {budget:g} CPU seconds", "error")
            raise MetricFailure(f"{_what(step)} {error_text(outcome.error, 'public')}", "error")
        if (updates or step.keep) and outcome.handle is None:
            raise MetricFailure(f"{_what(step)}: its result could not be kept in the student's process", "error")
        for attr, value in updates.items():
            updated = self.work.update(outcome.handle, attr, value, timeout=self.call_timeout)
            if not updated.ok:
                why = f"has no attribute {attr!r}" if updated.missing else error_text(updated.error, "public")
                raise MetricFailure(f"setting {attr} on the result of {_what(step)}: {why}", "error")
        return outcome

    def _missing(self, step: Step) -> str:
        if step.of:
            return f"the object from {step.of} has no method {step.call!r}"
        what = f"no function or class named {step.call!r} found"
        if not self.work.has_code:
            return f"{what} (no code was handed in)"
        problems = self.work.import_problems()
        return what + (f": {'; '.join(problems)}" if problems else "")

    # --- metrics --------------------------------------------------------------------------------------

    def metric(self, name: str) -> Any:
        """The metric's value (after every step has run, in order: a later step may train a model an
        earlier one made); a MetricFailure when it could not be measured."""
        for step in self.experiment.steps:
            try:
                self.step(step.name)
            except MetricFailure:
                pass  # (reported by the metrics that need this step)
        return _once(self._metrics, name, lambda: self._measure(self.experiment.metrics[name]))

    def _measure(self, metric: Metric) -> Any:
        if metric.answer is not None:
            outcome = self.work.answer(metric.answer)
            if not outcome.ok:
                reason = outcome.error.get("message") if outcome.error else "not found"
                raise MetricFailure(f"your answer {metric.answer!r}: {reason}")
            return _follow(outcome.value, metric.path, f"your answer {metric.answer!r}")
        if metric.value is not None:
            return _follow(self.step(metric.value).value, metric.path, f"what {_what(self.steps[metric.value])} returned")
        measure = metric.measure
        model = self.step(measure.model)
        for step in self.experiment.steps:  # a step that works on the model (trains it) must have worked too
            if step.of == measure.model:
                self.step(step.name)
        if model.handle is None:
            raise MetricFailure(f"the object from {measure.model} could not be kept in the student's process", "error")
        X, y = self.evaluate(measure.X), np.asarray(self.evaluate(measure.y))
        outcome = self.work.call_method(model.handle, measure.method, [X], {}, timeout=max(self.call_timeout, 30))
        label = f"{measure.model}.{measure.method}(X)"
        if outcome.missing:
            raise MetricFailure(f"the object from {measure.model} has no method {measure.method!r}")
        if not outcome.ok:
            raise MetricFailure(f"{label} {error_text(outcome.error, 'public')}", "error")
        if metric.cross_entropy is not None:
            return _cross_entropy(outcome.value, y, label)
        predictions = _labels(outcome.value, y, label)
        correct = float(np.mean(predictions == y))
        return correct if metric.accuracy is not None else 1.0 - correct


class TrainingChecker:
    """Scores training checks; holds the experiment runs of one submission."""

    def __init__(self, rubric: Rubric, functions: Mapping[str, Callable], work: StudentWork):
        self.rubric = rubric
        self.runs = {name: ExperimentRun(name, experiment, work, functions, rubric.given, rubric.limits.call_timeout)
                     for name, experiment in rubric.experiments.items()}

    def callables(self) -> list[str]:
        """The functions and classes the experiments' first steps call (a later step's method is asked
        for on the object once it exists)."""
        return [step.call for run in self.runs.values() for step in run.experiment.steps if not step.of]

    def score(self, check: TrainingCheck, base: CheckResult) -> CheckResult:
        run = self.runs[check.experiment]
        tree = parse(check.require)
        hidden = check.visibility == "hidden"
        values: dict[str, Any] = {}
        failures: list[MetricFailure] = []
        for name in sorted(names(tree)):
            try:
                values[name] = run.metric(name)
            except MetricFailure as exc:
                if all(str(exc) != str(f) for f in failures):
                    failures.append(exc)
        if failures:
            status = "error" if any(f.status == "error" for f in failures) else "failed"
            message = "; ".join(map(str, failures)) if not hidden else "could not be measured"
            return base.model_copy(update=dict(status=status, message=message, feedback=check.feedback.failed))
        shown = {name: _plain(value) for name, value in values.items()}
        try:
            ok = holds(tree, values)
        except RelationError as exc:
            message = f"could not check {check.require!r}: {exc}" if not hidden else "the figures are not usable"
            return base.model_copy(update=dict(status="failed", message=message, feedback=check.feedback.failed,
                                               metrics=None if hidden else shown))
        if hidden:
            message = "requirement met" if ok else "requirement not met"
        else:
            figures = ", ".join(f"{name} = {_show(value)}" for name, value in values.items())
            message = f"{'met' if ok else 'not met'}: {check.require} ({figures})"
        return base.model_copy(update=dict(status="passed" if ok else "failed", score=check.points if ok else 0.0,
                                           message=message, feedback=check.feedback.passed if ok else check.feedback.failed,
                                           metrics=None if hidden else shown))


def _what(step: Step) -> str:
    return f"{step.of}.{step.call}()" if step.of else f"{step.call}()"


def _follow(value: Any, path: list, label: str) -> Any:
    for part in path:
        try:
            value = lookup(value, part)
        except RelationError as exc:
            raise MetricFailure(f"{label}: {exc}") from None
    return value


def _labels(value: Any, y: np.ndarray, label: str) -> np.ndarray:
    try:
        predictions = as_numeric(value)
    except AnswerFormatError as exc:
        raise MetricFailure(f"{label}: {exc}") from None
    if predictions.ndim == y.ndim + 1 and predictions.shape[:-1] == y.shape:
        predictions = predictions.argmax(axis=-1)  # scores or probabilities: the predicted class
    if predictions.shape != y.shape:
        raise MetricFailure(f"{label} returned shape {predictions.shape}; expected {y.shape} (one label per input)")
    return predictions


def _cross_entropy(value: Any, y: np.ndarray, label: str) -> float:
    """Mean softmax cross-entropy of class scores (N, C) against labels y (N,), computed stably here."""
    try:
        scores = as_numeric(value)
    except AnswerFormatError as exc:
        raise MetricFailure(f"{label}: {exc}") from None
    if scores.ndim != 2 or scores.shape[0] != len(y) or not np.all(np.isfinite(scores)):
        raise MetricFailure(f"{label} returned {scores.shape if scores.ndim != 2 or scores.shape[0] != len(y) else 'non-finite'}"
                            f" scores; expected finite class scores of shape ({len(y)}, classes)")
    labels = y.astype(int)
    if labels.min() < 0 or labels.max() >= scores.shape[1]:
        raise MetricFailure(f"{label} returned {scores.shape[1]} class scores per input; the labels go up to {labels.max()}")
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _show(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in list(value.items())[:6]) + ("..." if len(value) > 6 else "") + "}"
    text = repr(_plain(value))
    return text if len(text) <= 60 else text[:57] + "..."
