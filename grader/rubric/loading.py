"""Loading rubrics, with errors that say where: file, line and field for every problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import RubricError
from .model import Rubric

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
