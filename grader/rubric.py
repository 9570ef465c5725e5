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
_REF = re.compile(r"^[$@][A-Za-z_][A-Za-z0-9_]*$")


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


Scalar = Union[bool, int, float, Annotated[str, Field(description='"$name": a given; "@name": an answer.')]]


def _expr_tag(value: Any) -> str:
    if isinstance(value, dict):
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
    return [node[1:] for node in walk(expr) if isinstance(node, str) and node.startswith("@")]


# --- checks -------------------------------------------------------------------------------------------


class Tolerance(_Model):
    """How close is close enough: ``|got - expected| <= atol + rtol * |expected|``, shapes equal."""

    rtol: float = Field(1e-6, ge=0)
    atol: float = Field(1e-8, ge=0)


class Feedback(_Model):
    passed: str | None = Field(None, description="Shown when the check passes.")
    failed: str | None = Field(None, description="Shown when it does not (a hint, never the answer).")


class _CheckBase(_Model):
    id: str | None = Field(None, description="Defaults to the question id (plus a suffix when several).")
    points: float = Field(ge=0)
    visibility: Literal["public", "hidden"] = "public"
    feedback: Feedback = Feedback()


class ValueCheck(_CheckBase):
    """A named answer compared with a reference value; may follow through from earlier answers."""

    kind: Literal["value"]
    answer: str | None = Field(None, pattern=IDENTIFIER, description="Answer name; defaults to the question id.")
    expected: Expr
    tolerance: Tolerance = Tolerance()
    follow_through: bool = Field(True, description="Error carried forward: accept answers consistent with the student's own earlier ones.")
    follow_through_credit: float = Field(1.0, ge=0, le=1, description="Fraction of the points such an answer earns.")


class Case(_Model):
    args: list[Expr] = Field(default_factory=list)
    kwargs: dict[str, Expr] = Field(default_factory=dict)


class RandomCases(Case):
    """``count`` cases whose ``random`` leaves are drawn from a generator seeded with ``seed``."""

    count: int = Field(ge=1, le=1000)
    seed: int


class FunctionCheck(_CheckBase):
    """Call the student's function and the reference on the same inputs; compare the outputs."""

    kind: Literal["function"]
    function: str | None = Field(None, pattern=IDENTIFIER, description="Student's function; defaults to the question id.")
    reference: str = Field(pattern=IDENTIFIER)
    cases: list[Case] = Field(default_factory=list)
    random_cases: RandomCases | None = None
    tolerance: Tolerance = Tolerance()

    @model_validator(mode="after")
    def _has_cases(self) -> FunctionCheck:
        if not self.cases and self.random_cases is None:
            raise ValueError("a function check needs 'cases' or 'random_cases'")
        return self


class ManualCheck(_CheckBase):
    """Points a TA enters (free-text answers): merged from an overrides file at grade time."""

    kind: Literal["manual"]
    prompt: str = ""


Check = Annotated[Union[ValueCheck, FunctionCheck, ManualCheck], Field(discriminator="kind")]


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
        return self

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
    if isinstance(check, ValueCheck):
        return [check.expected]
    if isinstance(check, FunctionCheck):
        cases = [*check.cases, *([check.random_cases] if check.random_cases else [])]
        return [expr for case in cases for expr in [*case.args, *case.kwargs.values()]]
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
