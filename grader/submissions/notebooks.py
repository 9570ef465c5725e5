"""Reading a student's notebook: any nbformat version, upgraded to v4; a broken one is reported, never run."""

from __future__ import annotations

from pathlib import Path

import nbformat

from ..report import RunEvent
from .names import shown_path

MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024


def read_notebook(path: Path, events: list[RunEvent], where: str | None = None) -> nbformat.NotebookNode | None:
    """The notebook at ``path`` (v4), or None with an error event saying why it is not run."""
    where = shown_path(where or path.name)
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
    return notebook
