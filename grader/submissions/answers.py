"""Answers files (YAML or JSON): pen-and-paper answers, read as data.

Answers files are data, read here in the grader with a safe YAML loader and caps (the file's size;
each answer's nesting, and its size with YAML aliases expanded, checked before anything is
expanded); a value that cannot be read or is over a cap is
reported by name and the other answers are still graded.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml
from yaml.composer import ComposerError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

ANSWER_SUFFIXES = {".yaml", ".yml", ".json"}
MAX_ANSWERS_BYTES = 1024 * 1024
# Caps checked before an answer is expanded (YAML aliases) or compared. Elements: every number, string,
# list and mapping, an alias counting as a copy of what it refers to. A file at the size cap holds about
# MAX_ANSWERS_BYTES // 2 numbers written out (a digit and a comma each): its answers together may hold no
# more once aliases are expanded, so aliases buy nothing that writing the numbers out would not. Depth:
# levels of nested lists/mappings, as for values from the student's kernel (grader_worker.wire.MAX_DEPTH);
# an array answer needs a handful.
MAX_ANSWER_ELEMENTS = MAX_ANSWERS_BYTES // 2
MAX_ANSWER_DEPTH = 16
MAX_PROBLEMS = 20  # messages per answers file


@dataclass
class Unreadable:
    """An answer whose value could not be read from the answers file."""

    reason: str


def read_answers(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The answers in a YAML/JSON file, and one message per problem (with file, line and name).

    An answer that cannot be read, or is over the caps (MAX_ANSWER_ELEMENTS, MAX_ANSWER_DEPTH), becomes
    an Unreadable with its message; the other answers are kept. At most MAX_PROBLEMS messages, the last
    one counting the rest: a hostile file can hold thousands of bad entries.
    """
    answers, problems = _read_answers(path)
    if len(problems) > MAX_PROBLEMS:
        problems = problems[:MAX_PROBLEMS - 1] + [f"{path.name}: {len(problems) - MAX_PROBLEMS + 1} more problems not listed"]
    return answers, problems


def _read_answers(path: Path) -> tuple[dict[str, Any], list[str]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return {}, [f"{path.name}: cannot read: {exc.strerror or exc}"]
    if len(raw) > MAX_ANSWERS_BYTES:
        return {}, [f"{path.name}: answers file is larger than {MAX_ANSWERS_BYTES // 1024} KiB"]
    text = raw.decode("utf-8", errors="replace")
    try:
        load = _load_json if path.suffix == ".json" else _load_yaml
        answers = load(path.name, text, _Budget())
    except _NotAnswers as exc:
        return {}, [f"{path.name}: {exc}"]
    except (ValueError, RecursionError, yaml.YAMLError) as exc:  # (json.loads recurses: deep nesting is a RecursionError)
        return _read_line_by_line(path, text, exc)
    return answers, [value.reason for value in answers.values() if isinstance(value, Unreadable)]


def _read_line_by_line(path: Path, text: str, error: Exception) -> tuple[dict[str, Any], list[str]]:
    """Fallback for a file that does not parse as a whole: parse each top-level entry on its own."""
    answers: dict[str, Any] = {}
    problems: list[str] = []
    blocks: list[tuple[int, str, list[str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r'^"?([A-Za-z_][A-Za-z0-9_]*)"?\s*:', line)
        if match:
            blocks.append((number, match.group(1), [line]))
        elif blocks and (line.startswith((" ", "\t", "-")) or not line.strip()):
            blocks[-1][2].append(line)
        elif line.strip() and not line.lstrip().startswith("#") and line.strip() not in "{}":
            problems.append(f"{path.name}:{number}: cannot read this line: {line.strip()[:60]}")
    if not blocks:
        return {}, [f"{path.name}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {error}"]
    budget = _Budget()
    for number, name, lines in blocks:
        snippet = "\n".join(lines).rstrip().rstrip(",")
        try:
            value = _load_yaml(path.name, snippet, budget, first_line=number)
        except (ValueError, yaml.YAMLError, _NotAnswers) as exc:
            reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            answers[name] = Unreadable(f"{path.name}:{number}: {name}: could not read the value ({reason}): {lines[0].strip()[:80]}")
            problems.append(answers[name].reason)
            continue
        if name in value:
            answers[name] = value[name]
            if isinstance(value[name], Unreadable):
                problems.append(value[name].reason)
    return answers, problems


# --- parsing with caps ---------------------------------------------------------------------------------


class _NotAnswers(Exception):
    """The file parses, but not to a mapping of answer names to values."""


@dataclass
class _Budget:
    """How many more elements (aliases expanded) the file's answers may hold: shared by the entries that the
    line-by-line fallback reads one at a time, so that reading a file in pieces does not multiply it."""

    left: int = MAX_ANSWER_ELEMENTS


def _not_a_mapping(kind: str) -> _NotAnswers:
    return _NotAnswers(f"expected a mapping of answer names to values (name: value), got a {kind}")


class _AnswersLoader(yaml.SafeLoader):
    """yaml.SafeLoader that stops composing at MAX_ANSWER_DEPTH levels of nesting.

    PyYAML's composer recurses once per level, so a file nested thousands of levels deep would end in a
    RecursionError; this makes it an ordinary YAML error with a line, which the line-by-line fallback
    turns into a message for that answer alone.
    """

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        self._depth += 1
        try:
            if self._depth > MAX_ANSWER_DEPTH + 2:  # the file's mapping, the answer, then its nesting
                raise ComposerError(None, None, f"nested more than {MAX_ANSWER_DEPTH} levels deep", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _load_yaml(file: str, text: str, budget: _Budget, first_line: int = 1) -> dict[str, Any]:
    """The answers in YAML text (``first_line``: where the text starts in the file, for messages).

    Each answer is measured on the composed node graph, where an alias is still a reference to its
    anchor's node, and one over the caps is left out before anything is constructed: neither the
    constructor (merge keys copy what they merge) nor the grader ever expands it.
    """
    loader = _AnswersLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise _NotAnswers("the file is empty")
        if not isinstance(root, MappingNode):
            raise _not_a_mapping("list" if isinstance(root, SequenceNode) else "single value")
        entries = [(_node_name(key), first_line + key.start_mark.line, key, value) for key, value in root.value]
        refused = _refuse_oversized(file, entries, _node_children, budget)
        root.value = [(key, value) for name, _, key, value in entries if name not in refused]
        answers = loader.construct_document(root)
        if not isinstance(answers, dict):  # a mapping tagged !!set
            raise _not_a_mapping(type(answers).__name__)
    finally:
        loader.dispose()
    return {**{str(name): value for name, value in answers.items()}, **refused}


def _load_json(file: str, text: str, budget: _Budget) -> dict[str, Any]:
    """The answers in JSON text (which has no aliases: in practice only the depth cap can refuse one)."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise _not_a_mapping("list" if isinstance(data, list) else "single value")
    answers = {str(name): value for name, value in data.items()}
    refused = _refuse_oversized(file, [(name, None, name, value) for name, value in answers.items()], _object_children, budget)
    return {**answers, **refused}


def _refuse_oversized(file: str, entries: list[tuple[str, int | None, Any, Any]],
                      children: Callable[[Any], list | None], budget: _Budget) -> dict[str, Unreadable]:
    """An Unreadable for each (name, line, key, value) entry, in file order, that contains itself, is nested
    more than MAX_ANSWER_DEPTH levels deep, or holds more elements than the budget has left.

    One memo for the whole file, so a part shared by many answers is measured once.
    """
    memo: dict[int, tuple[float, float]] = {}
    refused = {}
    for name, line, key, value in entries:
        (key_size, key_depth), (size, depth) = _extent(key, children, memo), _extent(value, children, memo)
        size, depth = key_size + size, max(key_depth, depth)
        if depth == math.inf:
            reason = "the value contains itself (an alias inside its own anchor)"
        elif size > MAX_ANSWER_ELEMENTS:
            reason = f"the value is too large (more than {MAX_ANSWER_ELEMENTS} numbers/elements, aliases expanded)"
        elif size > budget.left:
            reason = (f"the value is too large ({size:.0f} numbers/elements, aliases expanded: with the answers "
                      f"before it, the file would hold more than {MAX_ANSWER_ELEMENTS})")
        elif depth > MAX_ANSWER_DEPTH:
            reason = f"the value is nested more than {MAX_ANSWER_DEPTH} levels deep"
        else:
            budget.left -= size
            continue
        refused[name] = Unreadable(f"{file}{'' if line is None else f':{line}'}: {name}: {reason}")
    return refused


def _extent(value: Any, children: Callable[[Any], list | None], memo: dict[int, tuple[float, float]]) -> tuple[float, float]:
    """(elements, depth) of ``value`` written out in full, without writing it out.

    Every scalar, list and mapping counts once for each place it appears, so an alias counts as a copy
    of its anchor; the depth is the number of nested lists/mappings (0 for a scalar). Each shared part
    is walked once (``memo``, by id) and the walk is iterative, so the cost is that of the file, not of
    the expansion or of the nesting. Sizes stop counting just past MAX_ANSWER_ELEMENTS; a value that
    contains itself (a cycle of aliases) gets an infinite depth.
    """
    if children(value) is None:
        return 1, 0
    if id(value) not in memo:
        stack = [(value, iter(children(value)), [1, 0])]
        on_path = {id(value)}
        while stack:
            node, rest, total = stack[-1]
            for item in rest:
                items = children(item)
                if items is None:
                    total[0] += 1
                elif id(item) in on_path:
                    total[:] = [math.inf, math.inf]
                elif id(item) in memo:
                    size, depth = memo[id(item)]
                    total[:] = [total[0] + size, max(total[1], depth)]
                else:
                    on_path.add(id(item))
                    stack.append((item, iter(items), [1, 0]))
                    break
                total[0] = min(total[0], MAX_ANSWER_ELEMENTS + 1)
            else:
                stack.pop()
                on_path.discard(id(node))
                size, depth = memo[id(node)] = (total[0], total[1] + 1)
                if stack:
                    parent = stack[-1][2]
                    parent[:] = [min(parent[0] + size, MAX_ANSWER_ELEMENTS + 1), max(parent[1], depth)]
    return memo[id(value)]


def _node_children(node: Node) -> list[Node] | None:
    if isinstance(node, SequenceNode):
        return node.value
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return None


def _object_children(value: Any) -> list | None:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [part for pair in value.items() for part in pair]
    return None


def _node_name(key: Node) -> str:
    return str(key.value) if isinstance(key, ScalarNode) else f"(a {key.id} as a name)"
