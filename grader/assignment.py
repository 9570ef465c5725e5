"""An assignment as grading needs it: a rubric and the reference functions its checks call.

``load_assignment`` reads it from a rubric file (references imported from beside the rubric) or from
a student kit (references replaced by the kit's recorded calls); the ``Assignment`` itself does not
know where its rubric came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from .kit import is_kit, load_kit
from .references import load_reference
from .rubric import Rubric, load_rubric, public_only


@dataclass
class Assignment:
    """A rubric with its reference functions loaded: what grading one class needs, loaded once."""

    rubric: Rubric
    functions: Mapping[str, Callable]
    path: str = "<rubric>"

    def public(self) -> Assignment:
        """The assignment as a student self-check sees it: hidden checks removed."""
        return Assignment(public_only(self.rubric), self.functions, self.path)


def load_assignment(source: Assignment | Rubric | Path | str) -> Assignment:
    """From an Assignment (as it is), a Rubric, a rubric file, or a student kit folder (``grader.kit``)."""
    if isinstance(source, Assignment):
        return source
    if isinstance(source, Rubric):
        return Assignment(source, load_reference(source), "<rubric>")
    if is_kit(Path(source)):
        rubric, recorded = load_kit(Path(source))
        return Assignment(rubric, recorded, str(source))
    rubric = load_rubric(source)
    return Assignment(rubric, load_reference(rubric, str(source)), str(source))
