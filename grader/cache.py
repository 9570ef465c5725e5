"""Regrading unchanged work is free: reports cached by a hash of submission, rubric and references.

The key covers every byte of the staged submission (the copy the runner sees, so links and special
files are never opened for it), the validated rubric, the source of the reference
package, the TA overrides and the grader's version; change any of them and the work is graded again.
Reports that could not be graded are never cached. Beside them, each graded submission's transcript
(``grader.transcripts``) is kept by the submission's own key, whatever the rubric: after a rubric
change the submission can be scored again from it without running.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any, Mapping

from .report import Report
from .rubric import Rubric
from .submissions.staging import Staged
from .version import __version__


def submission_key(name: str, staged: Staged) -> str:
    """One student's (``name``) staged submission, whatever it is graded with: the key of its transcript."""
    digest = hashlib.sha256()
    digest.update(f"dl-grader {__version__}\n{name}\n".encode())
    for relative in staged.files():
        digest.update(relative.encode("utf-8", "surrogateescape") + b"\0" + (staged.folder / relative).read_bytes() + b"\0")
    digest.update(json.dumps([event.model_dump() for event in staged.events], sort_keys=True).encode())
    return digest.hexdigest()


def cache_key(submission: str, rubric: Rubric, manual: Mapping[str, Any] | None = None) -> str:
    """The key of a report: the submission's key (``submission_key``), the rubric, its references, TA points."""
    digest = hashlib.sha256(submission.encode())
    digest.update(rubric.model_dump_json(warnings=False).encode())
    digest.update(json.dumps(manual or {}, sort_keys=True, default=str).encode())
    for path in _reference_files(rubric):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _reference_files(rubric: Rubric) -> list[Path]:
    if not rubric.reference:
        return []
    spec = importlib.util.find_spec(rubric.reference.split(".")[0])
    if spec is None or not spec.submodule_search_locations:
        return [Path(spec.origin)] if spec and spec.origin else []
    return sorted(p for folder in spec.submodule_search_locations for p in Path(folder).rglob("*.py"))


class ReportCache:
    """Reports by key, one JSON file each, in a folder (``<out>/.cache`` for ``grader grade``)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _made(self, folder: Path) -> Path:
        """``folder``, made readable by its owner alone: transcripts hold every student's answers to the
        hidden cases (a right answer is the hidden expected value), so the cache is the grader's, never
        a student's."""
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        return folder

    def get(self, key: str) -> Report | None:
        path = self.folder / f"{key}.json"
        if not path.exists():
            return None
        try:
            return Report.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError:
            return None

    def put(self, key: str, report: Report) -> None:
        if report.status != "graded":
            return
        (self._made(self.folder) / f"{key}.json").write_text(report.model_dump_json(), encoding="utf-8")

    def transcript(self, submission: str) -> dict | None:
        """The transcript kept for a submission (by ``submission_key``), if any."""
        path = self.folder / "transcripts" / f"{submission}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put_transcript(self, submission: str, transcript: dict) -> None:
        (self._made(self.folder / "transcripts") / f"{submission}.json").write_text(json.dumps(transcript), encoding="utf-8")
