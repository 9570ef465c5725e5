"""Similarity across a class: which submissions share code that is not the class's common code.

For a person to look at, never a verdict: it changes no score. The fingerprinting is copydetect's
(MIT licence; the winnowing of Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms for
document fingerprinting", SIGMOD 2003, as in MOSS): code is tokenised with Pygments and every name
becomes ``V``/``F``/``O`` and every string ``S``, comments and blank space are dropped, and the
hashes of k-grams of what is left are winnowed. So renamed variables, removed comments and reordered
functions still match (fingerprints are a set, not a sequence).

The class's own common code, the starter code most of it shares, does not count: a fingerprint
found in at least half of the submissions (and in at least ``MIN_COMMON`` of them) is dropped from
every submission before they are compared. Notebooks are compared by their code cells (magics and
shell lines left out), modules as they are.

Where the code comes from: ``source_code(staged)`` reads the one staged copy of each submission
(``grader.submissions.staging``: the bytes the runner graded, never the originals again) when
``grade_class`` stages it, and the text rides on the Report (``Report.code``, never written to
report.json or the cache) to the class writers. Python's ``hash`` is salted per process, so
fingerprints are made and compared in one process, at the end of the batch.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from .report import Report

MAX_CODE = 200_000  # characters of code kept per submission
NOISE = 25  # shortest match that counts, in characters of tokenised code (copydetect's noise threshold)
GUARANTEE = 30  # a match this long is always found (copydetect's guarantee threshold)
COMMON_SHARE = 0.5  # fingerprints in at least this share of the class are its common (starter) code
MIN_COMMON = 3  # ...and in at least this many submissions: two students alike are not "the class"
MIN_OVERLAP = 40  # fewer matched tokens than this is not worth a person's look
CONTEXT = 2  # lines shown around a highlighted region
MAX_PAIRS = 20  # pairs shown side by side in the overview


def source_code(folder: Path) -> str:
    """The code of a staged submission: every module, and the code cells of every notebook, in order."""
    from .submissions.notebooks import read_notebook  # (nbformat: only where the similarity format is asked for)

    folder = Path(folder)
    parts: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        where = path.relative_to(folder).as_posix()
        if path.suffix == ".py":
            parts.append(f"# ---- {where}\n" + path.read_text(encoding="utf-8", errors="replace"))
        elif path.suffix == ".ipynb":
            notebook = read_notebook(path, [], where)
            for number, cell in enumerate(notebook.cells if notebook is not None else [], start=1):
                if cell.get("cell_type") == "code" and isinstance(cell.get("source"), str):
                    lines = [line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))]
                    parts.append(f"# ---- {where}, cell {number}\n" + "\n".join(lines))
    return "\n\n".join(parts)[:MAX_CODE]


@dataclass
class Segment:
    text: str
    matched: bool


@dataclass
class Pair:
    """Two submissions and how much of each one's own code (common code left out) matches the other."""

    a: str
    b: str
    similarity_a: float
    similarity_b: float
    matched_tokens: int
    excerpt_a: list[Segment] = field(default_factory=list)
    excerpt_b: list[Segment] = field(default_factory=list)

    @property
    def score(self) -> float:
        """The larger share: a submission copied whole into a longer one still stands out."""
        return max(self.similarity_a, self.similarity_b)


def similar_pairs(codes: dict[str, str], excerpts: int = MAX_PAIRS) -> list[Pair]:
    """Every pair of submissions that shares code beyond the class's common code, most similar first."""
    from copydetect import CodeFingerprint, compare_files

    def fingerprint(name: str, boilerplate=None):
        return CodeFingerprint(f"{name}.py", NOISE, GUARANTEE - NOISE + 1, boilerplate=boilerplate, language="python",
                               fp=io.StringIO(codes[name]))

    names = sorted(name for name, code in codes.items() if code.strip())
    first = {name: fingerprint(name) for name in names}
    counts: dict[int, int] = {}
    for fp in first.values():
        for value in fp.hashes:
            counts[value] = counts.get(value, 0) + 1
    floor = max(MIN_COMMON, math.ceil(COMMON_SHARE * len(names)))
    common = np.array(sorted(v for v, n in counts.items() if n >= floor), dtype=np.int64)
    prints = {name: fingerprint(name, common) if len(common) else first[name] for name in names}
    pairs: list[tuple[Pair, tuple]] = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            overlap, (share_a, share_b), slices = compare_files(prints[a], prints[b])
            if overlap >= MIN_OVERLAP:
                pairs.append((Pair(a, b, float(share_a), float(share_b), int(overlap)), slices))
    pairs.sort(key=lambda item: (-item[0].score, item[0].a, item[0].b))
    for pair, (slices_a, slices_b) in pairs[:excerpts]:
        pair.excerpt_a = excerpt(codes[pair.a], slices_a)
        pair.excerpt_b = excerpt(codes[pair.b], slices_b)
    return [pair for pair, _ in pairs]


def excerpt(code: str, slices: np.ndarray, context: int = CONTEXT) -> list[Segment]:
    """The matched parts of ``code`` (copydetect's slices into the raw text) with a few lines around
    them; what lies further away is one ``...`` line."""
    starts, ends = (np.asarray(s, dtype=int) for s in slices) if len(slices) else (np.array([], int), np.array([], int))
    marks = np.zeros(len(code) + 1, dtype=bool)
    for start, end in zip(starts, ends):
        marks[max(0, start):max(0, min(end, len(code)))] = True
    lines = code.splitlines(keepends=True)
    offsets = np.cumsum([0] + [len(line) for line in lines])
    hot = [bool(marks[offsets[i]:offsets[i + 1]].any()) for i in range(len(lines))]
    keep = [any(hot[max(0, i - context):i + context + 1]) for i in range(len(lines))]
    segments: list[Segment] = []
    skipped = False
    for i, line in enumerate(lines):
        if not keep[i]:
            if not skipped:
                _add(segments, "...\n", False)
            skipped = True
            continue
        skipped = False
        start = offsets[i]
        run_start = 0
        for j in range(1, len(line) + 1):
            if j == len(line) or marks[start + j] != marks[start + run_start]:
                _add(segments, line[run_start:j], bool(marks[start + run_start]))
                run_start = j
    return segments


def _add(segments: list[Segment], text: str, matched: bool) -> None:
    if segments and segments[-1].matched == matched:
        segments[-1].text += text
    elif text:
        segments.append(Segment(text, matched))


def class_pairs(reports: Iterable[Report]) -> list[Pair]:
    """``similar_pairs`` of the reports that carry their code (``Report.code``; graded or not)."""
    return similar_pairs({r.submission: r.code for r in reports if r.code})
