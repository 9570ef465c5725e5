"""Check models: value, function and manual checks, their tolerances, cases and known mistakes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from .expressions import IDENTIFIER, Call, Expr, _Model, refs



class Tolerance(_Model):
    """How close is close enough: ``|got - expected| <= atol + rtol * |expected|``, shapes equal."""

    rtol: float = Field(1e-6, ge=0)
    atol: float = Field(1e-8, ge=0)


class Feedback(_Model):
    passed: str | None = Field(None, description="Shown when the check passes.")
    failed: str | None = Field(None, description="Shown when it does not (a hint, never the answer).")


class Distractor(_Model):
    """A known wrong (or accepted alternative) answer, recognised by name.

    On a value check it is an expression (``call``, ``args``, ...) evaluated with the true earlier
    answers. On a function check it is a reference function called exactly like the check's reference
    (same inputs, plus ``kwargs``), case by case. It names the mistake only where its output differs
    from the right answer on that input.
    """

    call: str = Field(pattern=IDENTIFIER, description="Function of the rubric's reference module.")
    args: list[Expr] | None = Field(None, description="Value checks: its arguments. Function checks: leave out (each case's inputs are used).")
    kwargs: dict[str, Expr] = Field(default_factory=dict, description="Extra keyword arguments (function checks: added to the case's).")
    pick: int | None = Field(None, description="Index into a tuple result (value checks).")
    message: str = Field(min_length=1, description="What the student did, as the feedback names it.")
    credit: float = Field(0.0, ge=0, le=1, description="Fraction of the points a match earns; 1.0 for an accepted alternative convention.")

    def as_call(self) -> Call:
        return Call(call=self.call, args=self.args or [], kwargs=self.kwargs, pick=self.pick)


class _CheckBase(_Model):
    id: str | None = Field(None, description="Defaults to the question id (plus a suffix when several).")
    points: float = Field(ge=0)
    visibility: Literal["public", "hidden"] = "public"
    kit: Literal["show", "hide"] = Field("show", description="hide: keep this public check's expectation out of the "
                                         "student kit (grader bundle); it is checked only at grading, and its result "
                                         "is shown then like any public check's.")
    feedback: Feedback = Feedback()

    @model_validator(mode="after")
    def _kit_applies_to_public_checks(self) -> _CheckBase:
        if self.kit == "hide" and self.visibility == "hidden":
            raise ValueError("kit: hide applies to public checks (a hidden check is never in the kit)")
        return self


class _Compared(_CheckBase):
    """What value and function checks share: how answers are compared, and which mistakes are named."""

    tolerance: Tolerance = Tolerance()
    metric: Literal["allclose", "rel_error"] = Field(
        "allclose", description="allclose: |got - expected| <= atol + rtol |expected|. rel_error (gradient checks): "
                                "cs231n's max |a - b| / max(1e-8, |a| + |b|) in float64, at most `threshold`.")
    threshold: float | None = Field(None, gt=0, description="Largest accepted rel_error (metric: rel_error).")
    distractors: list[Distractor] = Field(default_factory=list, description="Known mistakes and accepted alternatives.")
    convention: str | None = Field(None, description="Names the right answer's convention in a note, when an accepted "
                                                     "alternative (a distractor with credit 1) could be told apart.")
    convention_group: str | None = Field(None, pattern=IDENTIFIER, description="Checks of one group (a loss and its "
                                         "gradients) must follow one convention: an accepted alternative counts only where "
                                         "the group's first check (the loss) uses it too; otherwise the check is graded "
                                         "against the convention the student's own first check uses.")
    singleton_axes: float = Field(0.0, ge=0, le=1, description="Credit (a fraction of the points) for values that are right "
                                  "but carry an extra or missing axis of length 1 (a (1, H) bias gradient for (H,)); 0: "
                                  "wrong shape, no credit.")

    @model_validator(mode="after")
    def _metric_settings(self) -> _Compared:
        if self.metric == "rel_error" and self.threshold is None:
            raise ValueError("metric rel_error needs a threshold (the largest accepted relative error)")
        if self.metric == "allclose" and self.threshold is not None:
            raise ValueError("threshold applies to metric: rel_error; use tolerance with allclose")
        if self.metric == "rel_error" and "tolerance" in self.model_fields_set:
            raise ValueError("metric rel_error uses threshold, not tolerance")
        return self


class ValueCheck(_Compared):
    """A named answer compared with a reference value; may follow through from earlier answers."""

    kind: Literal["value"]
    answer: str | None = Field(None, pattern=IDENTIFIER, description="Answer name; defaults to the question id.")
    expected: Expr
    follow_through: bool = Field(True, description="Error carried forward: accept answers consistent with the student's own earlier ones.")
    follow_through_credit: float = Field(1.0, ge=0, le=1, description="Fraction of the points such an answer earns.")

    @model_validator(mode="after")
    def _distractors_are_expressions(self) -> ValueCheck:
        for d in self.distractors:
            if d.args is None:
                raise ValueError(f"distractor {d.call!r} on a value check needs args (the inputs it is called with)")
        return self


class Case(_Model):
    let: dict[str, Expr] = Field(default_factory=dict, description='Values bound first (in order), used as "%name" '
                                 "anywhere in the check (instance, reference_args, transform, args), so that several "
                                 "places share one random draw.")
    args: list[Expr] = Field(default_factory=list)
    kwargs: dict[str, Expr] = Field(default_factory=dict)


class RandomCases(Case):
    """``count`` cases whose ``random`` leaves are drawn from a generator seeded with ``seed``."""

    count: int = Field(ge=1, le=1000)
    seed: int


class Instance(_Model):
    """Build an object of the student's class for each case, then call a method of it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    class_: str = Field(alias="class", pattern=IDENTIFIER, description="The student's class (or factory function).")
    args: list[Expr] = Field(default_factory=list)
    kwargs: dict[str, Expr] = Field(default_factory=dict)
    update: dict[str, Expr] = Field(default_factory=dict, description="After construction, obj.<name>.update(value): "
                                    "set the weights the grader chooses, say {params: $params}.")


class Transform(_Model):
    """A reference function applied to the student's output before comparing: ``call(output, *args, **kwargs)``."""

    call: str = Field(pattern=IDENTIFIER)
    args: list[Expr] = Field(default_factory=list)
    kwargs: dict[str, Expr] = Field(default_factory=dict)


class FunctionCheck(_Compared):
    """Call the student's function (or a method of their object) and the reference on the same inputs."""

    kind: Literal["function"]
    function: str | None = Field(None, pattern=IDENTIFIER, description="Student's function (method with `instance`); defaults to the question id.")
    instance: Instance | None = Field(None, description="Call `function` as a method of a fresh object of the student's class.")
    reference: str = Field(pattern=IDENTIFIER)
    reference_args: list[Expr] = Field(default_factory=list, description="Put before the case's args for the reference "
                                       "(and distractors) only: the state the student's object holds, say.")
    select: list[int | str] = Field(default_factory=list, description="Path into both outputs, e.g. [1, W1] for grads['W1'] of (loss, grads).")
    transform: Transform | None = Field(None, description="Compare what the student's output does rather than its form "
                                        "(e.g. M @ vec(x) for a matrix M); the reference returns the transformed kind.")
    cases: list[Case] = Field(default_factory=list)
    random_cases: RandomCases | None = None
    partial: Literal["per_case", "all_or_nothing"] = Field("per_case", description="per_case: the points are shared "
                                                          "among the cases (3 of 5 right: 0.6 of the points); all_or_nothing: "
                                                          "every case must pass.")

    @model_validator(mode="after")
    def _has_cases(self) -> FunctionCheck:
        if not self.cases and self.random_cases is None:
            raise ValueError("a function check needs 'cases' or 'random_cases'")
        for d in self.distractors:
            if d.args is not None or d.pick is not None:
                raise ValueError(f"distractor {d.call!r}: on a function check a distractor is called with each case's "
                                 "inputs, like the reference; give no args or pick (kwargs may add to them)")
        shared = [*(self.instance.args if self.instance else []), *(self.instance.kwargs.values() if self.instance else []),
                  *(self.instance.update.values() if self.instance else []), *self.reference_args,
                  *(self.transform.args if self.transform else []), *(self.transform.kwargs.values() if self.transform else []),
                  *(v for d in self.distractors for v in d.kwargs.values())]
        for case in self.all_cases():
            bound: set[str] = set()
            for name, value in case.let.items():
                _require_bound(value, bound, f"let {name}")
                bound.add(name)
            for expr in [*shared, *case.args, *case.kwargs.values()]:
                _require_bound(expr, bound, "the check")
        return self

    def all_cases(self) -> list[Case]:
        return [*self.cases, *([self.random_cases] if self.random_cases else [])]


def _require_bound(expr: Any, bound: set[str], where: str) -> None:
    for name in refs(expr, "%"):
        if name not in bound:
            raise ValueError(f"{where} uses %{name}, which no earlier 'let' of every case binds")


class ManualCheck(_CheckBase):
    """Points a TA enters (free-text answers): merged from an overrides file at grade time."""

    kind: Literal["manual"]
    prompt: str = ""

