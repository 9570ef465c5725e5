"""What a staged submission is made of: notebooks, Python modules and answers files (YAML or JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SubmissionError
from .answers import ANSWER_SUFFIXES


@dataclass
class Submission:
    folder: Path
    notebooks: list[Path] = field(default_factory=list)
    modules: list[Path] = field(default_factory=list)
    answer_files: list[Path] = field(default_factory=list)

    @property
    def has_code(self) -> bool:
        return bool(self.notebooks or self.modules)


def classify(folder: Path) -> Submission:
    """Sort the files of a staged submission (``grader.submissions.staging``) by form."""
    submission = Submission(folder=Path(folder))
    for file in sorted(p for p in submission.folder.rglob("*") if p.is_file()):
        if file.suffix == ".ipynb":
            submission.notebooks.append(file)
        elif file.suffix == ".py":
            submission.modules.append(file)
        elif file.suffix in ANSWER_SUFFIXES:
            submission.answer_files.append(file)
    if not (submission.notebooks or submission.modules or submission.answer_files):
        raise SubmissionError("no notebook (.ipynb), module (.py) or answers file (.yaml/.json) found")
    return submission
