"""Where a batch's submissions are graded: here in threads (``local``), or on a dask cluster (``dask``).

An executor takes staged jobs one at a time (so a class is staged no faster than it is graded) and
calls ``done(job, report)`` for each; both end in ``grader.grading.grade_with_retry``, with the same
fault policy, so a submission gets the same report wherever it runs.
"""

from __future__ import annotations

from .jobs import Done, Executor, Job

__all__ = ["Done", "Executor", "Job", "executor_for"]


def executor_for(spec: str, *, jobs: int = 1, sandbox: bool | None = None, warm: bool = True) -> Executor:
    """``"local"``: ``jobs`` threads, one warm zygote each. A dask address (``tcp://...``) or ``local:N``
    (a LocalCluster of N worker processes here): the cluster's workers, each with its own zygote."""
    if spec == "local":
        from .local import run_local

        return lambda work, assignment, done: run_local(work, assignment, done, workers=jobs, sandbox=sandbox, warm=warm)
    from .dask import run_dask

    return lambda work, assignment, done: run_dask(work, assignment, done, address=spec, sandbox=sandbox)
