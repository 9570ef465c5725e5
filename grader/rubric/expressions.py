"""Rubric expressions: how a rubric says "the value you get by calling this with that".

A given (``$x``), an answer (``@y_hat``), a case binding (``%params``), a reference call
(``{call: f, args: [...]}``), a seeded random draw, or plain data. The grader evaluates them
(``grader.checks.expressions``); nothing here runs code.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag
from typing_extensions import TypeAliasType

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
_REF = re.compile(r"^[$@%][A-Za-z_][A-Za-z0-9_]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


def expr_tag(value: Any) -> str:
    """Which form of expression ``value`` is (the union's tag; error locations carry it too)."""
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
        Discriminator(expr_tag),
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

