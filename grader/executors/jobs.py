"""A submission on its way through a batch, and the shape of an executor."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ..assignment import Assignment
from ..report import Report
from ..submissions.classes import Entry
from ..submissions.staging import Staged


@dataclass
class Job:
    """One submission on its way through a batch: its entry, TA points, and its staged copy."""

    index: int
    entry: Entry
    manual: Any = None
    staged: Staged | None = None
    key: str = ""
    submission_key: str = ""
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="dl-grader-staged-")))

    def close(self) -> None:
        """Remove the staged copy."""
        shutil.rmtree(self.folder, ignore_errors=True)


Done = Callable[[Job, Report], None]
Executor = Callable[[Iterable[Job], Assignment, Done], None]
