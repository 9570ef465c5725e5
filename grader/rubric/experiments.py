"""Training models: experiments run in the student's process, measured in the grader's, and the
training checks that state requirements over their metrics."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .checks import _CheckBase
from .expressions import IDENTIFIER, Expr, _Model



class Step(_Model):
    """One call into the student's process, under the experiment's seeds and time budget.

    ``call`` names a function or class of the student's (or, with ``of``, a method of an earlier step's
    object). Arguments may use givens ($X_train) and the student's answers (@best_lr).
    """

    name: str = Field(pattern=IDENTIFIER, description="How later steps and metrics refer to the result.")
    call: str = Field(pattern=IDENTIFIER)
    of: str | None = Field(None, pattern=IDENTIFIER, description="An earlier step whose object's method `call` is called.")
    args: list[Expr] = Field(default_factory=list)
    kwargs: dict[str, Expr] = Field(default_factory=dict)
    update: dict[str, Expr] = Field(default_factory=dict, description="Then result.<name>.update(value) (set weights).")
    keep: bool = Field(True, description="Keep the result in the student's process (a model); false: bring it back as plain data.")


class Measure(_Model):
    """A model's predictions on data the grader chooses, scored in the grader."""

    model: str = Field(pattern=IDENTIFIER, description="A step that returned the model.")
    method: str = Field("predict", pattern=IDENTIFIER, description="Called with X; returns labels (or scores: argmax is taken).")
    X: Expr
    y: Expr


class Metric(_Model):
    """One named number (or datum) a requirement uses; exactly one source."""

    accuracy: Measure | None = Field(None, description="Fraction of predictions equal to y.")
    error_rate: Measure | None = Field(None, description="Fraction of predictions (tokens) different from y.")
    cross_entropy: Measure | None = Field(None, description="Mean softmax cross-entropy of the class scores the model "
                                          "returns for X, against y: a loss the grader computes itself.")
    value: str | None = Field(None, pattern=IDENTIFIER, description="A step's plain-data result (keep: false).")
    answer: str | None = Field(None, pattern=IDENTIFIER, description="One of the student's answers (a claimed figure, say).")
    path: list[int | str] = Field(default_factory=list, description="Path into a value or answer, e.g. [loss_history, -1].")

    @model_validator(mode="after")
    def _one_source(self) -> Metric:
        sources = [name for name in ("accuracy", "error_rate", "cross_entropy", "value", "answer") if getattr(self, name) is not None]
        if len(sources) != 1:
            raise ValueError(f"a metric has exactly one of accuracy, error_rate, cross_entropy, value, answer (got {sources or 'none'})")
        if self.path and sources[0] not in ("value", "answer"):
            raise ValueError("path applies to value and answer metrics")
        return self

    @property
    def measure(self) -> Measure | None:
        return self.accuracy or self.error_rate or self.cross_entropy


class Experiment(_Model):
    """A training run in the student's process: steps (seeded, timed), then metrics measured by the grader."""

    seed: int = Field(0, description="random, numpy and torch are seeded with it before every step.")
    threads: int = Field(1, ge=1, le=64, description="torch threads (with deterministic algorithms on).")
    time_budget: float = Field(30, gt=0, le=600, description="CPU seconds of the student's process for all steps together "
                               "(CPU time, so that a verdict does not depend on the machine's load; a wall-clock cap of "
                               "three times as long, plus 30 s, still stops a call that waits without computing).")
    steps: list[Step] = Field(min_length=1)
    metrics: dict[str, Metric] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Experiment:
        seen: set[str] = set()
        for step in self.steps:
            if step.name in seen:
                raise ValueError(f"step name {step.name!r} is used twice")
            if step.of is not None and step.of not in seen:
                raise ValueError(f"step {step.name!r} calls a method of {step.of!r}, which is not an earlier step")
            seen.add(step.name)
        by_name = {s.name: s for s in self.steps}
        for name, metric in self.metrics.items():
            if name in _RESERVED:
                raise ValueError(f"metric name {name!r} is reserved (a function of requirements)")
            source = metric.measure.model if metric.measure else metric.value
            if source is not None and source not in by_name:
                raise ValueError(f"metric {name!r} uses {source!r}, which is not a step")
            if metric.value is not None and by_name[metric.value].keep:
                raise ValueError(f"metric {name!r} reads step {metric.value!r} as data: give that step keep: false")
            if metric.measure is not None and not by_name[metric.measure.model].keep:
                raise ValueError(f"metric {name!r} calls {metric.measure.model!r}, a step with keep: false (data, not an object)")
        return self

    def expressions(self) -> list:
        exprs = [e for s in self.steps for e in [*s.args, *s.kwargs.values(), *s.update.values()]]
        return exprs + [e for m in self.metrics.values() if m.measure for e in (m.measure.X, m.measure.y)]


_RESERVED = {"abs", "min", "max", "argmax", "argmin", "len", "mean", "and", "or", "not"}


class TrainingCheck(_CheckBase):
    """A requirement on an experiment's metrics: ``require: "cnn_val - cnn_shift < mlp_val - mlp_shift"``."""

    kind: Literal["training"]
    experiment: str = Field(pattern=IDENTIFIER)
    require: str = Field(description="A relation over the experiment's metrics: numbers, + - * /, comparisons, and/or/not, "
                                     "abs min max argmax argmin len mean, and subscripts (lr_results[best_lr]).")

    @model_validator(mode="after")
    def _parses(self) -> TrainingCheck:
        from ..checks.requirements import RelationError, parse

        try:
            parse(self.require)
        except RelationError as exc:
            raise ValueError(f"require: {exc}") from None
        return self


