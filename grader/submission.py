"""What a submission is made of: a notebook, Python modules, and/or an answers file (YAML or JSON).

A submission is one student's file or folder. Answers files are data, read here in the grader with a
safe YAML loader and a size cap; a value that cannot be read is reported by name and the other
answers are still graded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ANSWER_SUFFIXES = {".yaml", ".yml", ".json"}
MAX_ANSWERS_BYTES = 1024 * 1024
MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024
_SKIP = {"__pycache__", ".ipynb_checkpoints", ".git"}


class SubmissionError(Exception):
    """The submission holds nothing the grader can use (no notebook, module or answers file)."""


@dataclass
class Unreadable:
    """An answer whose value could not be read from the answers file."""

    reason: str


@dataclass
class Submission:
    path: Path
    name: str
    folder: Path
    notebooks: list[Path] = field(default_factory=list)
    modules: list[Path] = field(default_factory=list)
    answer_files: list[Path] = field(default_factory=list)

    @property
    def has_code(self) -> bool:
        return bool(self.notebooks or self.modules)


def submission_name(path: Path) -> str:
    """The name a submission goes by (reports, gradebook rows, overrides): file stem or folder name."""
    return path.stem if path.is_file() else path.name


def discover(path: Path | str) -> Submission:
    """Classify the files of one student's submission."""
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"{path}: no such file or folder")
    if path.is_file():
        files, folder = [path], path.parent
    else:
        files = sorted(p for p in path.rglob("*") if p.is_file() and not _SKIP & set(p.relative_to(path).parts))
        folder = path
    submission = Submission(path=path, name=submission_name(path), folder=folder)
    for file in files:
        if file.suffix == ".ipynb":
            submission.notebooks.append(file)
        elif file.suffix == ".py":
            submission.modules.append(file)
        elif file.suffix in ANSWER_SUFFIXES and not file.name.startswith("."):
            submission.answer_files.append(file)
    if not (submission.notebooks or submission.modules or submission.answer_files):
        raise SubmissionError(f"{path}: no notebook (.ipynb), module (.py) or answers file (.yaml/.json) found")
    return submission


def read_answers(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The answers in a YAML/JSON file, and one message per problem (with file, line and name)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return {}, [f"{path.name}: cannot read: {exc.strerror or exc}"]
    if len(raw) > MAX_ANSWERS_BYTES:
        return {}, [f"{path.name}: answers file is larger than {MAX_ANSWERS_BYTES // 1024} KiB"]
    text = raw.decode("utf-8", errors="replace")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        try:
            return _read_line_by_line(path, text, exc)
        except (RecursionError, MemoryError):
            return {}, [f"{path.name}: nested too deeply or too large to read"]
    except (RecursionError, MemoryError):
        return {}, [f"{path.name}: nested too deeply or too large to read"]
    if data is None:
        return {}, [f"{path.name}: the file is empty"]
    if not isinstance(data, dict):
        return {}, [f"{path.name}: expected a mapping of answer names to values (name: value), got a {type(data).__name__}"]
    return {str(k): v for k, v in data.items()}, []


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
    for number, name, lines in blocks:
        snippet = "\n".join(lines).rstrip().rstrip(",")
        try:
            value = yaml.safe_load(snippet)
        except yaml.YAMLError as exc:
            reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            answers[name] = Unreadable(f"{path.name}:{number}: {name}: could not read the value ({reason}): {lines[0].strip()[:80]}")
            problems.append(answers[name].reason)
            continue
        if isinstance(value, dict) and name in value:
            answers[name] = value[name]
    return answers, problems
