"""Where a batch's submissions are graded: here in threads (``local``), or on a dask cluster (``dask``).

An executor takes staged jobs one at a time (so a class is staged no faster than it is graded) and
calls ``done(job, report)`` for each; both end in ``grader.grading.grade_with_retry``, with the same
fault policy, so a submission gets the same report wherever it runs.
"""

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
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="dl-grader-staged-")))

    def close(self) -> None:
        """Remove the staged copy."""
        shutil.rmtree(self.folder, ignore_errors=True)


Done = Callable[[Job, Report], None]
Executor = Callable[[Iterable[Job], Assignment, Done], None]


def executor_for(spec: str, *, jobs: int = 1, sandbox: bool | None = None, warm: bool = True) -> Executor:
    """``"local"``: ``jobs`` threads, one warm zygote each. A dask address (``tcp://...``) or ``local:N``
    (a LocalCluster of N worker processes here): the cluster's workers, each with its own zygote."""
    if spec == "local":
        from .local import run_local

        return lambda work, assignment, done: run_local(work, assignment, done, workers=jobs, sandbox=sandbox, warm=warm)
    from .dask import run_dask

    return lambda work, assignment, done: run_dask(work, assignment, done, address=spec, sandbox=sandbox)
