"""Mistake detectors ("distractors"): recognising a known wrong answer, or an accepted alternative.

A distractor is a reference function that computes a specific wrong answer (a flipped kernel, a
forgotten bias) or another accepted convention (0.5 * reg * sum(W^2)). When a student's answer fails
against the truth, each distractor's output on the same input is compared with it; a match names the
mistake and earns the distractor's credit. A distractor makes a claim only where its output differs
from the right answer on that input: for a symmetric kernel flipping changes nothing, so a student
who flipped cannot be told apart there, and nothing is said. A mistake that overflows (a softmax
without the row maximum subtracted, on large scores) is recognised by where it overflows: an answer
with NaN or infinity in the very places the distractor's output has them (either kind), and matching
elsewhere, matches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

from .compare import AnswerFormatError, Comparator, as_numeric
from ..rubric import Distractor


@dataclass(frozen=True)
class Detection:
    distractor: Distractor

    @property
    def message(self) -> str:
        return self.distractor.message

    @property
    def credit(self) -> float:
        return self.distractor.credit

    @property
    def accepted(self) -> bool:
        return self.distractor.credit >= 1.0


def distinguishable(output: Any, truth: Any, same: Comparator) -> bool:
    """Whether a distractor's output differs from the right answer on this input (else: no claim)."""
    return not same(output, truth).ok


def detect(got: Any, truth: Any, candidates: Iterable[tuple[Distractor, Callable[[], Any]]], same: Comparator) -> Detection | None:
    """The first distractor whose output the student's answer matches, where that output is not the truth.

    ``candidates`` pairs each distractor with a thunk that computes its output on this input (so that
    nothing is computed when the answer is right). A distractor whose computation fails (its inputs do
    not suit it) is skipped: it cannot make a claim.
    """
    for distractor, output in candidates:
        try:
            value = output()
        except Exception:  # noqa: BLE001 - a detector that does not apply here says nothing
            continue
        if distinguishable(value, truth, same) and (same(got, value).ok or _non_finite_alike(got, value, same)):
            return Detection(distractor)
    return None


def _non_finite_alike(got: Any, value: Any, same: Comparator) -> bool:
    """Whether a distractor's output with NaN or infinity, and the student's answer, are non-finite in the
    same places and match elsewhere (single arrays or numbers only: a structured output makes no claim)."""
    try:
        g, v = as_numeric(got), as_numeric(value)
    except AnswerFormatError:
        return False
    bad = ~np.isfinite(v)
    if g.shape != v.shape or not bad.any() or not np.array_equal(bad, ~np.isfinite(g)):
        return False
    return same(np.where(bad, 0.0, g), np.where(bad, 0.0, v)).ok


def told_apart(truth: Any, candidates: Iterable[tuple[Distractor, Callable[[], Any]]], same: Comparator) -> bool:
    """Whether an accepted alternative (credit 1) gives a different answer here, so that naming the
    convention the student used is founded."""
    for distractor, output in candidates:
        if distractor.credit < 1.0:
            continue
        try:
            if distinguishable(output(), truth, same):
                return True
        except Exception:  # noqa: BLE001
            continue
    return False


def summary(detections: list[Detection]) -> str | None:
    """The named mistakes (or alternatives), each once, in the order met."""
    seen: list[str] = []
    for detection in detections:
        if detection.message not in seen:
            seen.append(detection.message)
    return "; ".join(seen) or None
