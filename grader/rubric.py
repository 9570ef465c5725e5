"""Rubric models: what an assignment asks, how each answer is checked, and what it is worth.

A rubric is YAML validated by these pydantic models. Expected values are never typed in: a check names
a reference function and the inputs to call it with (an *expression*), and the grader computes the
expectation. ``load_rubric`` reports every problem with the file, the line and the field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from typing_extensions import TypeAliasType
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
_REF = re.compile(r"^[$@%][A-Za-z_][A-Za-z0-9_]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- expressions: how a rubric says "the value you get by calling this with that" -------------------


class Call(_Model):
    """Call a reference function: ``{call: forward, args: ["$x", "@w_new", 1.0], pick: 0}``."""

    call: str = Field(pattern=IDENTIFIER, description="Name of a function in the rubric's reference module.")
    args: list[Expr] = Field(default_factory=list)
    kwargs: dict[str, Expr] = Field(default_factory=dict)
    pick: int | None = Field(None, description="Index into a tuple result.")


class RandomArray(_Model):
    """A random array drawn from the check's seeded generator (hidden cases, say)."""

    random: Literal["normal", "uniform", "integers"]
    shape: list[int] = Field(default_factory=list, description="[] for a scalar.")
    low: float = 0.0
    high: float = 1.0
    scale: float = 1.0
    seed: int | None = Field(None, description="Own seed; otherwise the enclosing check's generator.")


class Plain(_Model):
    """Data passed exactly as written: ``{plain: [32, 16]}`` stays a Python list of ints (a bare list
    of numbers becomes a float array)."""

    plain: Any


Scalar = Union[bool, int, float, Annotated[str, Field(description='"$name": a given; "@name": an answer; "%name": a case binding.')]]


def _expr_tag(value: Any) -> str:
    if isinstance(value, dict):
        if "plain" in value:
            return "plain"
        return "random" if "random" in value else "call"
    if isinstance(value, (list, tuple)):
        return "list"
    return "scalar"


Expr = TypeAliasType(
    "Expr",
    Annotated[
        Union[
            Annotated[Call, Tag("call")],
            Annotated[RandomArray, Tag("random")],
            Annotated[Plain, Tag("plain")],
            Annotated[list["Expr"], Tag("list")],
            Annotated[Scalar, Tag("scalar")],
        ],
        Discriminator(_expr_tag),
    ],
)
Call.model_rebuild()


def walk(expr: Any):
    """Every node of an expression, depth first."""
    yield expr
    if isinstance(expr, Call):
        for arg in [*expr.args, *expr.kwargs.values()]:
            yield from walk(arg)
    elif isinstance(expr, list):
        for item in expr:
            yield from walk(item)


def answer_refs(expr: Any) -> list[str]:
    """Names of the answers (``@name``) an expression depends on."""
    return refs(expr, "@")


def refs(expr: Any, sigil: str) -> list[str]:
    """Names an expression refers to with ``sigil`` ($ given, @ answer, % case binding)."""
    return [node[1:] for node in walk(expr) if isinstance(node, str) and _REF.match(node) and node[0] == sigil]


# --- checks -------------------------------------------------------------------------------------------


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
    feedback: Feedback = Feedback()


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


# --- training: experiments run in the student's process, measured in the grader's -------------------


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
    value: str | None = Field(None, pattern=IDENTIFIER, description="A step's plain-data result (keep: false).")
    answer: str | None = Field(None, pattern=IDENTIFIER, description="One of the student's answers (a claimed figure, say).")
    path: list[int | str] = Field(default_factory=list, description="Path into a value or answer, e.g. [loss_history, -1].")

    @model_validator(mode="after")
    def _one_source(self) -> Metric:
        sources = [name for name in ("accuracy", "error_rate", "value", "answer") if getattr(self, name) is not None]
        if len(sources) != 1:
            raise ValueError(f"a metric has exactly one of accuracy, error_rate, value, answer (got {sources or 'none'})")
        if self.path and sources[0] not in ("value", "answer"):
            raise ValueError("path applies to value and answer metrics")
        return self

    @property
    def measure(self) -> Measure | None:
        return self.accuracy or self.error_rate


class Experiment(_Model):
    """A training run in the student's process: steps (seeded, timed), then metrics measured by the grader."""

    seed: int = Field(0, description="random, numpy and torch are seeded with it before every step.")
    threads: int = Field(1, ge=1, le=64, description="torch threads (with deterministic algorithms on).")
    time_budget: float = Field(30, gt=0, le=600, description="Seconds for all steps together.")
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
        from .relations import RelationError, parse

        try:
            parse(self.require)
        except RelationError as exc:
            raise ValueError(f"require: {exc}") from None
        return self


Check = Annotated[Union[ValueCheck, FunctionCheck, ManualCheck, TrainingCheck], Field(discriminator="kind")]


class Question(_Model):
    id: str = Field(pattern=IDENTIFIER)
    title: str | None = None
    text: str | None = Field(None, description="What the student is asked (for the sheet).")
    points: float | None = Field(None, ge=0, description="If given, must equal the sum of the checks' points.")
    checks: list[Check] = Field(min_length=1)

    @model_validator(mode="after")
    def _name_checks_and_sum_points(self) -> Question:
        total = sum(check.points for check in self.checks)
        if self.points is not None and abs(total - self.points) > 1e-9:
            raise ValueError(f"points is {self.points} but the checks add up to {total}")
        many = len(self.checks) > 1
        for index, check in enumerate(self.checks):
            if check.id is None:
                suffix = f".{check.visibility}" if many else ""
                if many and sum(c.visibility == check.visibility for c in self.checks) > 1:
                    suffix += f"{index + 1}"
                object.__setattr__(check, "id", f"{self.id}{suffix}")
        return self

    @property
    def max_points(self) -> float:
        return sum(check.points for check in self.checks)


class Limits(_Model):
    """Limits for running one submission's code."""

    cell_timeout: float = Field(30, gt=0, description="Seconds per notebook cell.")
    call_timeout: float = Field(10, gt=0, description="Seconds per call of a student function.")
    total_timeout: float = Field(300, gt=0, description="Seconds of wall time for one submission.")
    memory_mb: int = Field(4096, ge=256, description="Address-space limit of the student process.")
    output_kb: int = Field(1024, ge=1, description="Output kept from the student's code.")


class Rubric(_Model):
    id: str = Field(pattern=IDENTIFIER)
    title: str
    reference: str | None = Field(None, description="Python module holding the reference functions.")
    sheet: str | None = Field(None, description="Student-facing assignment sheet, relative to the rubric.")
    given: dict[str, Expr] = Field(default_factory=dict, description="Named inputs the checks use as $name.")
    limits: Limits = Limits()
    experiments: dict[str, Experiment] = Field(default_factory=dict, description="Training runs in the student's "
                                               "process that training checks measure (each run at most once per submission).")
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent_names(self) -> Rubric:
        ids = [q.id for q in self.questions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"question ids must be unique; repeated: {dupes}")
        answers = self.answer_checks()
        for check in self.checks():
            for expr in check_expressions(check):
                for node in walk(expr):
                    if isinstance(node, str) and _REF.match(node):
                        name = node[1:]
                        if node[0] == "$" and name not in self.given:
                            raise ValueError(f"check {check.id!r} uses ${name}, which is not in 'given'")
                        if node[0] == "@" and name not in answers:
                            raise ValueError(f"check {check.id!r} uses @{name}, which no value check answers")
                        if node[0] == "%" and not isinstance(check, FunctionCheck):
                            raise ValueError(f"check {check.id!r} uses %{name}: case bindings exist on function checks only")
            if isinstance(check, TrainingCheck):
                self._check_training(check)
        for name, experiment in self.experiments.items():
            for expr in experiment.expressions():
                for given in refs(expr, "$"):
                    if given not in self.given:
                        raise ValueError(f"experiment {name!r} uses ${given}, which is not in 'given'")
                if refs(expr, "%"):
                    raise ValueError(f"experiment {name!r} uses %{refs(expr, '%')[0]}: case bindings exist on function checks only")
        return self

    def _check_training(self, check: TrainingCheck) -> None:
        from .relations import names, parse

        experiment = self.experiments.get(check.experiment)
        if experiment is None:
            raise ValueError(f"check {check.id!r} uses experiment {check.experiment!r}, which 'experiments' does not define")
        unknown = sorted(names(parse(check.require)) - set(experiment.metrics))
        if unknown:
            raise ValueError(f"check {check.id!r}: require uses {', '.join(unknown)}, not metrics of experiment "
                             f"{check.experiment!r} (it has {', '.join(experiment.metrics)})")

    def checks(self) -> list:
        return [check for q in self.questions for check in q.checks]

    def answer_checks(self) -> dict[str, ValueCheck]:
        """The value check that defines each answer name (the first, for the true value)."""
        found: dict[str, ValueCheck] = {}
        for question in self.questions:
            for check in question.checks:
                if isinstance(check, ValueCheck):
                    found.setdefault(check.answer or question.id, check)
        return found

    @property
    def max_points(self) -> float:
        return sum(q.max_points for q in self.questions)


def check_expressions(check: Any) -> list:
    """Every expression a check evaluates in the grader (for validation and the names it calls)."""
    if isinstance(check, ValueCheck):
        return [check.expected, *(d.as_call() for d in check.distractors)]
    if isinstance(check, FunctionCheck):
        exprs = [expr for case in check.all_cases() for expr in [*case.let.values(), *case.args, *case.kwargs.values()]]
        if check.instance:
            exprs += [*check.instance.args, *check.instance.kwargs.values(), *check.instance.update.values()]
        if check.transform:
            exprs += [*check.transform.args, *check.transform.kwargs.values()]
        return exprs + list(check.reference_args) + [v for d in check.distractors for v in d.kwargs.values()]
    return []


# --- loading, with errors that say where -------------------------------------------------------------


class RubricError(Exception):
    """A rubric that cannot be used; ``problems`` holds one line per problem, each with file:line."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(problems))


def load_rubric(path: Path | str) -> Rubric:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RubricError(path, [f"{path}: cannot read the rubric: {exc.strerror or exc}"]) from None
    return parse_rubric(text, path)


def parse_rubric(text: str, path: Path | str = "<rubric>") -> Rubric:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise RubricError(path, [f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    if not isinstance(data, dict):
        raise RubricError(path, [f"{path}:1: a rubric is a mapping with id, title and questions"])
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        raise RubricError(path, [_describe(error, node, path) for error in exc.errors()]) from None


def _describe(error: dict, node: Any, path: Path | str) -> str:
    loc = [part for part in error["loc"]]
    line, field = _locate(node, loc)
    got = error.get("input")
    shown = "" if isinstance(got, (dict, list)) or got is None else f" (got {got!r})"
    message = error["msg"].removeprefix("Value error, ")
    return f"{path}:{line}: {field or '(top level)'}: {message}{shown}"


def _locate(node: Any, loc: list) -> tuple[int, str]:
    """The YAML line and a readable field path for a pydantic error location."""
    line = node.start_mark.line + 1 if node is not None else 1
    parts: list[str] = []
    for position, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            if match is None:  # a union's tag, or (last) a missing field
                if position == len(loc) - 1:
                    parts.append(str(part))
                continue
            parts.append(str(part))
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            parts.append(f"[{part}]")
            node = node.value[part]
        else:
            continue
        line = node.start_mark.line + 1
    return line, ".".join(parts).replace(".[", "[")


def json_schema() -> dict:
    """The rubric JSON Schema, for editor completion."""
    return Rubric.model_json_schema()


def public_only(rubric: Rubric) -> Rubric:
    """The rubric as a student self-check sees it: hidden checks removed."""
    questions = []
    for question in rubric.questions:
        checks = [c for c in question.checks if c.visibility == "public"]
        if checks:
            questions.append(question.model_copy(update={"checks": checks, "points": None}))
    return rubric.model_copy(update={"questions": questions})
