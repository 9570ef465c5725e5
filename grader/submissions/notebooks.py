"""Reading a student's notebook: any nbformat version, upgraded to v4; a broken one is reported, never run."""

from __future__ import annotations

from pathlib import Path

import nbformat

from ..report import RunEvent
from ..escaping import one_line

MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024


def read_notebook(path: Path, events: list[RunEvent], where: str | None = None) -> nbformat.NotebookNode | None:
    """The notebook at ``path`` (v4), or None with an error event saying why it is not run."""
    where = one_line(where or path.name)
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        events.append(RunEvent(where=where, kind="error", message=f"notebook is larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB; not run"))
        return None
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - not JSON, not a notebook, unknown version
        events.append(RunEvent(where=where, kind="error", message=f"not a readable notebook: {str(exc).splitlines()[0][:200]}"))
        return None
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        events.append(RunEvent(where=where, kind="error", message="notebook has no list of cells"))
        return None
    for index, cell in enumerate(cells):
        problem = _repair(cell)
        if problem is not None:
            events.append(RunEvent(where=f"{where}, cell {index + 1}", kind="error", message=f"{problem}: not run"))
            cells[index] = nbformat.from_dict({"cell_type": "raw", "metadata": {}, "source": ""})
    return notebook


def _repair(cell: object) -> str | None:
    """What makes a cell unusable (None when it runs), filling in what nbclient needs and may be left out."""
    if not isinstance(cell, dict):
        return "not a cell"
    if cell.get("cell_type") != "code":
        return None
    source = cell.get("source")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        cell["source"] = "".join(source)
    elif not isinstance(source, str):
        return "a code cell without source text" if source is None else "a code cell whose source is not text"
    if not isinstance(cell.get("metadata"), dict):
        cell["metadata"] = nbformat.from_dict({})
    if not isinstance(cell.get("outputs"), list):
        cell["outputs"] = []
    cell.setdefault("execution_count", None)
    return None
