"""Mistake detectors ("distractors"): recognising a known wrong answer, or an accepted alternative.

A distractor is a reference function that computes a specific wrong answer (a flipped kernel, a
forgotten bias) or another accepted convention (0.5 * reg * sum(W^2)). When a student's answer fails
against the truth, each distractor's output on the same input is compared with it; a match names the
mistake and earns the distractor's credit. A distractor makes a claim only where its output differs
from the right answer on that input: for a symmetric kernel flipping changes nothing, so a student
who flipped cannot be told apart there, and nothing is said.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from .compare import Comparator
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
        if distinguishable(value, truth, same) and same(got, value).ok:
            return Detection(distractor)
    return None


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
