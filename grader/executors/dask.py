"""Grading on a dask.distributed cluster; each worker runs the same sandboxed runner and fault policy.

The client sends each staged submission as bytes (``grader.submissions.staging.pack``: regular files
only, already vetted), the rubric as JSON and the reference package's files; a worker unpacks them
into a private folder, grades with its own warm zygote under the same retry policy as a local slot,
and sends back the report as JSON. Workers need this package installed; no shared file system.
``local:N`` starts a LocalCluster of N worker processes on this machine.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any, Iterable

from ..assignment import Assignment
from ..grading import grade_with_retry, not_gradable
from ..references import load_reference
from ..report import Report
from ..rubric import Rubric
from ..runner.pool import ZygotePool
from ..submissions.staging import pack, unpack
from .jobs import Done, Job

IN_FLIGHT_PER_WORKER = 4  # staged submissions held in memory per worker, beyond the one being graded

_assignments: dict[str, Assignment] = {}
_pool: ZygotePool | None = None


def reference_files(rubric: Rubric) -> dict[str, bytes]:
    """The rubric's reference package as files (relative path -> bytes), so that workers need no copy of the course."""
    if not rubric.reference:
        return {}
    spec = importlib.util.find_spec(rubric.reference.split(".")[0])
    if spec is None:
        return {}
    if spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations)))
        return {str(p.relative_to(folder.parent)): p.read_bytes() for p in sorted(folder.rglob("*.py"))}
    return {Path(spec.origin).name: Path(spec.origin).read_bytes()} if spec.origin else {}


def _install_reference(files: dict[str, bytes]) -> None:
    if not files:
        return
    key = hashlib.sha256(b"".join(k.encode() + b"\0" + v for k, v in sorted(files.items()))).hexdigest()[:16]
    root = Path(tempfile.gettempdir()) / f"dl-grader-reference-{key}"
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))


def grade_packed(packed: dict[str, Any], rubric_json: str, name: str, path: str, manual: Any, sandbox: bool | None,
                 reference: dict[str, bytes]) -> str:
    """Runs on a worker: unpack, grade in this worker's sandbox, return the report as JSON."""
    global _pool
    key = hashlib.sha256(rubric_json.encode() + b"".join(k.encode() + b"\0" + v for k, v in sorted(reference.items()))).hexdigest()
    if key not in _assignments:
        _install_reference(reference)
        rubric = Rubric.model_validate_json(rubric_json)
        _assignments[key] = Assignment(rubric, load_reference(rubric), "<rubric from the dask client>")
    if _pool is None:
        _pool = ZygotePool(use_bwrap=sandbox, disk_mb=_assignments[key].rubric.limits.disk_mb)
    with tempfile.TemporaryDirectory(prefix="dl-grader-dask-") as tmp:
        staged = unpack(packed, Path(tmp) / "submission")
        report = grade_with_retry(staged, _assignments[key], name=name, path=path, pool=_pool, slot=os.getpid(),
                                  manual=manual, sandbox=sandbox)
    return json.dumps({"report": report.model_dump(mode="json"), "transcript": report.transcript})


def run_dask(work: Iterable[Job], assignment: Assignment, done: Done, *, address: str, sandbox: bool | None = None) -> None:
    from dask.distributed import Client, LocalCluster, wait

    if not assignment.rubric.reference and assignment.functions:
        raise ValueError("grading on dask needs the rubric with its reference module (a student kit's recorded "
                         "calls cannot be sent to workers)")
    cluster = None
    if address.startswith("local:"):
        cluster = LocalCluster(n_workers=int(address.split(":", 1)[1]), threads_per_worker=1, processes=True,
                               dashboard_address=None)
    client = Client(cluster if cluster is not None else address)
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        reference = client.scatter(reference_files(assignment.rubric), broadcast=True)
        rubric_json = assignment.rubric.model_dump_json(warnings=False)
        batch = uuid.uuid4().hex[:8]
        in_flight: dict[Any, Job] = {}

        def collect(futures) -> None:
            for future in futures:
                job = in_flight.pop(future)
                try:
                    answer = json.loads(future.result())
                    report = Report.model_validate(answer["report"])
                    report.transcript = answer.get("transcript")
                except Exception as exc:  # noqa: BLE001 - a lost worker, a failed task: this submission only
                    report = not_gradable(job.entry.name, job.entry.path, assignment,
                                          f"the dask task failed: {type(exc).__name__}: {exc}")
                done(job, report)

        for job in work:
            try:
                packed = pack(job.staged)
            finally:
                job.close()
            future = client.submit(grade_packed, packed, rubric_json, job.entry.name, str(job.entry.path), job.manual,
                                   sandbox, reference, pure=False, key=f"grade-{batch}-{job.index}")
            in_flight[future] = job
            if len(in_flight) >= workers * (1 + IN_FLIGHT_PER_WORKER):
                collect(wait(list(in_flight), return_when="FIRST_COMPLETED").done)
        while in_flight:
            collect(wait(list(in_flight), return_when="FIRST_COMPLETED").done)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
