"""``similarity.csv``: pairs of submissions that share code beyond the class's common code, most similar first.

The pairs come from ``grader.similarity`` (computed once per batch by ``write_class``, which also
hands them to the overview for its side-by-side excerpts). A person looks at them; no score changes.
Columns: ``submission_a,submission_b,score,similarity_a,similarity_b,matched_tokens``: ``similarity_a``
is the share of a's own code (common code left out) found in b; ``score`` is the larger of the two.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..report import Report
from ..rubric import Rubric
from ..similarity import Pair, class_pairs
from .lms import safe_cell

COLUMNS = ("submission_a", "submission_b", "score", "similarity_a", "similarity_b", "matched_tokens")


def write_similarity(reports: list[Report], rubric: Rubric, path: Path, skipped=(), roster=None,
                     similarity: list[Pair] | None = None) -> Path:
    pairs = class_pairs(reports) if similarity is None else similarity
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for pair in pairs:
            writer.writerow([safe_cell(pair.a), safe_cell(pair.b), f"{pair.score:.3f}", f"{pair.similarity_a:.3f}",
                             f"{pair.similarity_b:.3f}", pair.matched_tokens])
    return path
