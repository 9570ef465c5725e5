"""Grading here: ``workers`` threads, each a job slot with its own warm zygote (``grader.runner.pool``)."""

from __future__ import annotations

import threading
from typing import Iterable

from ..assignment import Assignment
from ..grading import grade_with_retry
from ..runner.pool import ZygotePool
from .jobs import Done, Job


def run_local(work: Iterable[Job], assignment: Assignment, done: Done, *, workers: int = 1, sandbox: bool | None = None,
              warm: bool = True) -> None:
    pool = ZygotePool(use_bwrap=sandbox, warm=warm, disk_mb=assignment.rubric.limits.disk_mb)
    jobs = iter(work)
    taking, reporting = threading.Lock(), threading.Lock()
    failures: list[BaseException] = []

    def slot_loop(slot: int) -> None:
        while True:
            with taking:
                job = next(jobs, None) if not failures else None
            if job is None:
                return
            try:
                report = grade_with_retry(job.staged, assignment, name=job.entry.name, path=job.entry.path, pool=pool,
                                          slot=slot, manual=job.manual, sandbox=sandbox)
            finally:
                job.close()
            with reporting:
                done(job, report)

    def guarded(slot: int) -> None:
        try:
            slot_loop(slot)
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            failures.append(exc)

    threads = [threading.Thread(target=guarded, args=(slot,), name=f"grader-slot-{slot}") for slot in range(max(1, workers))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        pool.close()
    if failures:
        raise failures[0]
