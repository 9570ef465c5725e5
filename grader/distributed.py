"""Grading across machines on a dask.distributed cluster; each worker runs the same sandboxed runner.

The client sends each submission's files (bytes) and the rubric's text; a worker writes them to a
private temporary folder, grades with its own warm zygote, and sends back the report as JSON. Workers
need this package (with its references) installed; they need no shared file system.
``local:N`` starts a LocalCluster of N worker processes on this machine.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping

from .report import Report
from .submission import submission_name

_assignments: dict[str, Any] = {}
_pool: Any = None


def pack(path: Path) -> dict[str, Any]:
    """A submission as plain data: its name, whether it is a single file, and its files' bytes."""
    path = Path(path)
    if path.is_file():
        return {"name": path.name, "is_file": True, "files": {path.name: path.read_bytes()}}
    files = {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
    return {"name": path.name, "is_file": False, "files": files}


def pack_reference(rubric_path: Path) -> dict[str, bytes]:
    """The rubric's reference package as files, so that workers need no copy of the course."""
    from .rubric import load_rubric

    module = load_rubric(rubric_path).reference
    if not module:
        return {}
    top = module.split(".")[0]
    for root in (Path(rubric_path).resolve().parent, Path(rubric_path).resolve().parent.parent):
        if (root / top).is_dir():
            return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / top).rglob("*.py"))}
    return {}


def _install_reference(files: dict[str, bytes]) -> None:
    if not files:
        return
    key = hashlib.sha256(b"".join(k.encode() + v for k, v in sorted(files.items()))).hexdigest()[:16]
    root = Path(tempfile.gettempdir()) / f"dl-grader-reference-{key}"
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))


def grade_packed(packed: dict[str, Any], rubric_text: str, rubric_name: str, manual: Mapping[str, Any] | None,
                 sandbox: bool | None, reference: dict[str, bytes] | None = None) -> str:
    """Runs on a worker: unpack, grade in this worker's sandbox, return the report as JSON."""
    from .api import Assignment, ZygotePool, grade
    from .rubric import parse_rubric

    global _pool
    key = hashlib.sha256(rubric_text.encode()).hexdigest()
    if key not in _assignments:
        _install_reference(reference or {})
        _assignments[key] = Assignment.load(parse_rubric(rubric_text, rubric_name))
    if _pool is None:
        _pool = ZygotePool(use_bwrap=sandbox)
    slot = os.getpid()  # a uid of its own per worker process on this machine
    with tempfile.TemporaryDirectory(prefix="dl-grader-dask-") as tmp:
        root = Path(tmp) / ("files" if packed["is_file"] else packed["name"])
        for relative, data in packed["files"].items():
            target = root / relative
            if not target.resolve().is_relative_to(root.resolve()):
                raise ValueError(f"refusing a file outside the submission: {relative}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        path = root / packed["name"] if packed["is_file"] else root
        report = grade(path, _assignments[key], manual=manual, slot=slot, sandbox=sandbox, zygote=_pool.get(slot))
    return report.model_dump_json()


def grade_on_dask(paths: list[Path], rubric_path: Path, address: str, *, manual: Mapping[str, Mapping[str, Any]] | None = None,
                  sandbox: bool | None = None, on_done: Callable[[Report], None] | None = None) -> list[Report]:
    """Grade ``paths`` on the cluster at ``address`` (or ``local:N``); results in the order given."""
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if address.startswith("local:"):
        cluster = LocalCluster(n_workers=int(address.split(":", 1)[1]), threads_per_worker=1, processes=True,
                               dashboard_address=None)
    client = Client(cluster if cluster is not None else address)
    try:
        rubric_text = Path(rubric_path).read_text(encoding="utf-8")
        reference = client.scatter(pack_reference(Path(rubric_path)), broadcast=True)
        futures = {}
        for index, path in enumerate(paths):
            name = submission_name(path)
            future = client.submit(grade_packed, pack(path), rubric_text, str(rubric_path), (manual or {}).get(name), sandbox,
                                   reference, pure=False, key=f"grade-{index}-{name}")
            futures[future] = (index, path)
        reports: list[Report | None] = [None] * len(paths)
        for future in as_completed(futures):
            index, path = futures[future]
            report = Report.model_validate_json(future.result()).model_copy(update={"path": str(path)})
            reports[index] = report
            if on_done is not None:
                on_done(report)
        return [r for r in reports if r is not None]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
