"""The result of grading one submission, as pydantic models that every reporter renders.

A report is student-facing: hidden checks carry their score and a generic message, never their
expected values, inputs or the student's outputs on hidden inputs.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field

Status = Literal["passed", "failed", "error", "not-gradable", "pending"]


class CheckResult(BaseModel):
    id: str
    kind: str
    visibility: Literal["public", "hidden"]
    status: Status
    score: float
    max_score: float
    message: str = ""
    feedback: str | None = None
    got: Any = Field(None, description="The student's value (public checks only).")
    expected: Any = Field(None, description="The expected value (public checks only).")
    true_value: Any = Field(None, description="The right answer, where ``expected`` was recomputed from the student's own "
                            "earlier answers (follow-through; public checks only).")
    rtol: float | None = None
    atol: float | None = None
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    rel_error: float | None = Field(None, description="cs231n's relative error (gradient checks, public only).")
    threshold: float | None = Field(None, description="The largest accepted rel_error.")
    follow_through: bool = Field(False, description="Credit given for consistency with earlier answers.")
    mistake: str | None = Field(None, description="A named, detected mistake.")
    note: str | None = Field(None, description="The accepted convention the student used, where it could be told apart.")
    metrics: dict[str, Any] | None = Field(None, description="A training check's measured figures (public checks only).")
    convention_credit: dict[str, float] | None = Field(None, exclude=True, description="Points earned per convention "
                                                       "(checks with a convention_group; never written out).")
    seconds: float | None = None


class QuestionResult(BaseModel):
    id: str
    title: str | None = None
    score: float
    max_score: float
    checks: list[CheckResult]

    @property
    def status(self) -> Status:
        statuses = {c.status for c in self.checks}
        for status in ("not-gradable", "error", "pending", "failed"):
            if status in statuses:
                return status  # type: ignore[return-value]
        return "passed"


class RunEvent(BaseModel):
    """Something that happened while running the student's code (a cell error, a timeout, a crash)."""

    where: str
    kind: Literal["error", "timeout", "crash", "limit", "warning", "info"]
    message: str


class Late(BaseModel):
    """A late penalty applied to a report (``grader.late``): the raw score is the report's ``score``."""

    submitted_at: str | None = Field(None, description="When it was handed in (ISO 8601), if known.")
    hours_late: float = 0.0
    penalty: float = Field(0.0, description="Points taken off the raw score.")
    final: float = Field(description="The score after the penalty.")
    note: str = ""


class Report(BaseModel):
    submission: str
    path: str
    rubric: str
    status: Literal["graded", "not-gradable"] = "graded"
    reason: str | None = Field(None, description="Why a submission could not be graded.")
    score: float
    max_score: float
    questions: list[QuestionResult]
    events: list[RunEvent] = Field(default_factory=list)
    seconds: float = 0.0
    graded_at: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    grader_version: str = ""
    late: Late | None = Field(None, description="The late penalty, when a late policy was applied.")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per stage: staging, kernel_start, cells "
                                      "(notebooks and module imports), checks, training, reset (where each happened); "
                                      "student_training: the CPU seconds of the student's own training steps.")
    transcript: dict | None = Field(None, exclude=True, description="Every call into the student's process and what came back "
                                    "(grader.transcripts), for scoring again without running; kept beside the report.")
    code: str | None = Field(None, exclude=True, description="The submission's code, for the class's similarity "
                             "report (grader.similarity); never written to report.json or the cache.")

    def question(self, question_id: str) -> QuestionResult:
        return next(q for q in self.questions if q.id == question_id)

    def check(self, check_id: str) -> CheckResult:
        return next(c for q in self.questions for c in q.checks if c.id == check_id)

    @property
    def final_score(self) -> float:
        """The score after any late penalty (the raw ``score`` when there is none)."""
        return self.late.final if self.late is not None else self.score

    @property
    def all_public_passed(self) -> bool:
        return all(c.status == "passed" for q in self.questions for c in q.checks if c.visibility == "public" and c.kind != "manual")
