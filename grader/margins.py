"""How close a rubric runs to its edges: the margins ``grader validate`` prints.

A training requirement that an example meets by 0.001 will flip on another machine's rounding; a
distractor whose output equals the right answer on every case can never name its mistake. Both are
measured here, from the examples' reports and from the references alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .assignment import Assignment
from .checks.compare import comparator
from .checks.requirements import RelationError, margin, parse
from .checks.scorer import Scorer
from .report import Report
from .rubric import FunctionCheck, TrainingCheck, ValueCheck


@dataclass(frozen=True)
class RequirementMargin:
    example: str
    check_id: str
    require: str
    margin: float
    met: bool


@dataclass(frozen=True)
class DistractorDistance:
    check_id: str
    message: str
    told_apart: int  # cases on which the distractor's output differs from the right answer
    cases: int
    smallest: float | None  # the smallest largest-absolute-difference among the cases told apart


def requirement_margins(assignment: Assignment, example: str, report: Report) -> list[RequirementMargin]:
    """Each public training check's margin in one example's report (from the metrics it recorded)."""
    checks = {c.id: c for c in assignment.rubric.checks() if isinstance(c, TrainingCheck)}
    found = []
    for question in report.questions:
        for result in question.checks:
            check = checks.get(result.id)
            if check is None or not result.metrics:
                continue
            try:
                spare = margin(parse(check.require), result.metrics)
            except (RelationError, KeyError, TypeError):
                spare = None
            if spare is not None:
                found.append(RequirementMargin(example, check.id, check.require, spare, result.status == "passed"))
    return found


def distractor_distances(assignment: Assignment) -> list[DistractorDistance]:
    """How far each distractor's output is from the right answer on the rubric's own cases."""
    scorer = Scorer(assignment.rubric, assignment.functions)
    found = []
    for check in assignment.rubric.checks():
        if not getattr(check, "distractors", None):
            continue
        same = comparator(check)
        pairs: list[list[tuple]] = [[] for _ in check.distractors]
        if isinstance(check, ValueCheck):
            truth = scorer._true(check.expected)
            for index, distractor in enumerate(check.distractors):
                pairs[index].append((scorer._true(distractor.as_call()), truth))
        elif isinstance(check, FunctionCheck):
            for case in scorer.function_checks.cases(check):
                truth = scorer.function_checks.reference(check, case)
                for index, distractor in enumerate(check.distractors):
                    pairs[index].append((scorer.function_checks._reference_call(check, distractor.call, case, distractor.kwargs), truth))
        for distractor, outputs in zip(check.distractors, pairs):
            apart = [same(output, truth) for output, truth in outputs]
            distances = [c.max_abs_error for c in apart if not c.ok and c.max_abs_error is not None]
            found.append(DistractorDistance(check.id, distractor.message, sum(not c.ok for c in apart), len(outputs),
                                            float(np.min(distances)) if distances else None))
    return found
