"""Loading rubrics, with errors that say where: file, line and field for every problem."""

from __future__ import annotations

import difflib
from functools import lru_cache
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import ValidationError

from ..errors import RubricError
from .expressions import expr_tag
from .model import Rubric


def load_rubric(path: Path | str) -> Rubric:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RubricError(path, [f"{path}: cannot read the rubric: {exc.strerror or exc}"]) from None
    return parse_rubric(text, path)


# libyaml's loader where PyYAML has it (the same safe YAML, parsed in C: a rubric in milliseconds, not 0.1 s)
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_rubric(text: str, path: Path | str = "<rubric>") -> Rubric:
    try:
        data = yaml.load(text, Loader=LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise RubricError(path, [f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    if not isinstance(data, dict):
        raise RubricError(path, [f"{path}:1: a rubric is a mapping with id, title and questions"])
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        node = yaml.compose(text, Loader=LOADER)  # (the lines of the fields, for the messages)
        raise RubricError(path, [_describe(error, node, path) for error in exc.errors()]) from None


def _describe(error: dict, node: Any, path: Path | str) -> str:
    loc = list(error["loc"])
    line, field = _locate(node, loc)
    got = error.get("input")
    shown = "" if isinstance(got, (dict, list)) or got is None else f" (got {got!r})"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
        close = difflib.get_close_matches(loc[-1], _field_names(), n=1, cutoff=0.7)
        message = "unknown field" + (f" (did you mean {close[0]!r}?)" if close else "")
        shown = ""
    return f"{path}:{line}: {field or '(top level)'}: {message}{shown}"


def _locate(node: Any, loc: list) -> tuple[int, str]:
    """The YAML line and a readable field path for a pydantic error location.

    A location also holds the tags of tagged unions (a check's kind, an expression's form), which may
    equal a key of the same mapping (``{kind: function, function: loss}``, ``{random: normal}``): a
    part is taken as a tag when it is the tag of the mapping at hand and more parts follow, so the
    error lands on the field that is wrong, not on the key that happens to share the tag's name.
    """
    line = node.start_mark.line + 1 if node is not None else 1
    parts: list[str] = []
    for position, part in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(node, yaml.MappingNode):
            if not last and part in _tags(node):
                continue
            match = _value(node, part)
            if match is None:  # a union's tag, or (last) a missing field
                if last:
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


def _pairs(node: yaml.MappingNode) -> list[tuple[Any, Any]]:
    """A mapping's key and value nodes, with YAML merge keys (``<<: *defaults``) opened: a field that
    comes from an anchor is found (and its line is the anchor's)."""
    pairs = []
    for key, value in node.value:
        if key.tag == "tag:yaml.org,2002:merge":
            for source in value.value if isinstance(value, yaml.SequenceNode) else [value]:
                if isinstance(source, yaml.MappingNode):
                    pairs += _pairs(source)
        else:
            pairs.append((key, value))
    return pairs


def _value(node: yaml.MappingNode, key: Any) -> Any:
    # the mapping's own keys win over merged ones, as in YAML
    own = [v for k, v in node.value if k.tag != "tag:yaml.org,2002:merge" and k.value == key]
    return own[0] if own else next((v for k, v in _pairs(node) if k.value == key), None)


def _tags(node: yaml.MappingNode) -> set[str]:
    """The union tags pydantic may put in a location for this mapping: its ``kind``, its expression form."""
    keys = {k.value: v for k, v in _pairs(node)}
    kind = keys.get("kind")
    return {expr_tag(dict.fromkeys(keys))} | ({kind.value} if isinstance(kind, yaml.ScalarNode) else set())


@lru_cache(maxsize=1)
def _field_names() -> tuple[str, ...]:
    """Every field name of the rubric models (for "did you mean")."""
    from pydantic import BaseModel

    names: set[str] = set()
    seen: set[Any] = set()
    todo: list[Any] = [Rubric]
    while todo:
        item = todo.pop()
        try:
            if item in seen:
                continue
            seen.add(item)
        except TypeError:  # an unhashable annotation part
            continue
        if isinstance(item, type) and issubclass(item, BaseModel):
            for name, info in item.model_fields.items():
                names.add(info.alias or name)
                todo.append(info.annotation)
            continue
        todo += [*get_args(item), *([item.__value__] if hasattr(item, "__value__") else [])]  # unions, lists, Expr's alias
    return tuple(sorted(names))


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
