"""The rubric itself: questions made of checks, limits, experiments, and the names that tie them together."""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field, model_validator

from .checks import FunctionCheck, ManualCheck, ValueCheck
from .expressions import _REF, IDENTIFIER, Call, Expr, _Model, refs, walk
from .experiments import Experiment, TrainingCheck

Check = Annotated[Union[ValueCheck, FunctionCheck, ManualCheck, TrainingCheck], Field(discriminator="kind")]


class Question(_Model):
    id: str = Field(pattern=IDENTIFIER)
    title: str | None = None
    text: str | None = Field(None, description="What the student is asked (for the sheet).")
    points: float | None = Field(None, ge=0, description="If given, must equal the sum of the checks' points.")
    checks: list[Check] = Field(min_length=1)

    @model_validator(mode="after")
    def _name_checks_and_sum_points(self) -> Question:
        total = sum(check.points for check in self.checks)
        if self.points is not None and abs(total - self.points) > 1e-9:
            raise ValueError(f"points is {self.points} but the checks add up to {total}")
        many = len(self.checks) > 1
        for index, check in enumerate(self.checks):
            if check.id is None:
                suffix = f".{check.visibility}" if many else ""
                if many and sum(c.visibility == check.visibility for c in self.checks) > 1:
                    suffix += f"{index + 1}"
                object.__setattr__(check, "id", f"{self.id}{suffix}")
        return self

    @property
    def max_points(self) -> float:
        return sum(check.points for check in self.checks)


class Limits(_Model):
    """Limits for running one submission's code."""

    cell_timeout: float = Field(30, gt=0, description="Seconds per notebook cell.")
    call_timeout: float = Field(10, gt=0, description="Seconds per call of a student function.")
    total_timeout: float = Field(300, gt=0, description="Seconds of wall time for one submission.")
    memory_mb: int = Field(4096, ge=256, description="Memory of the student's processes: their address space (every "
                           "process), and, where the grader runs as root with cgroups, everything they use together "
                           "(memory, tmpfs files, memfds, page cache).")
    disk_mb: int = Field(256, ge=16, le=65536, description="Size of each writable folder the student's code sees (home, "
                         "/tmp; /dev/shm gets a quarter): memory-backed, never the host's disk.")
    output_kb: int = Field(1024, ge=1, description="Output kept from the student's code.")


class Rubric(_Model):
    id: str = Field(pattern=IDENTIFIER)
    title: str
    reference: str | None = Field(None, description="Python module holding the reference functions.")
    sheet: str | None = Field(None, description="Student-facing assignment sheet, relative to the rubric.")
    given: dict[str, Expr] = Field(default_factory=dict, description="Named inputs the checks use as $name.")
    kit_given: dict[str, Expr] = Field(default_factory=dict, description="What the student kit has instead of some givens: "
                                       "a public sample for self-checks, so that the data the grader measures training on "
                                       "(its labels above all) never reaches a student.")
    limits: Limits = Limits()
    experiments: dict[str, Experiment] = Field(default_factory=dict, description="Training runs in the student's "
                                               "process that training checks measure (each run at most once per submission).")
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent_names(self) -> Rubric:
        ids = [q.id for q in self.questions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"question ids must be unique; repeated: {dupes}")
        answers = self.answer_checks()
        unknown = sorted(set(self.kit_given) - set(self.given))
        if unknown:
            raise ValueError(f"kit_given replaces givens, but {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not in 'given'")
        for check in self.checks():
            for expr in check_expressions(check):
                for node in walk(expr):
                    if isinstance(node, str) and _REF.match(node):
                        name = node[1:]
                        if node[0] == "$" and name not in self.given:
                            raise ValueError(f"check {check.id!r} uses ${name}, which is not in 'given'")
                        if node[0] == "@" and name not in answers:
                            raise ValueError(f"check {check.id!r} uses @{name}, which no value check answers")
                        if node[0] == "%" and not isinstance(check, FunctionCheck):
                            raise ValueError(f"check {check.id!r} uses %{name}: case bindings exist on function checks only")
            if isinstance(check, TrainingCheck):
                self._check_training(check)
        for name, experiment in self.experiments.items():
            for expr in experiment.expressions():
                for given in refs(expr, "$"):
                    if given not in self.given:
                        raise ValueError(f"experiment {name!r} uses ${given}, which is not in 'given'")
                if refs(expr, "%"):
                    raise ValueError(f"experiment {name!r} uses %{refs(expr, '%')[0]}: case bindings exist on function checks only")
        return self

    def _check_training(self, check: TrainingCheck) -> None:
        from ..checks.requirements import names, parse

        experiment = self.experiments.get(check.experiment)
        if experiment is None:
            raise ValueError(f"check {check.id!r} uses experiment {check.experiment!r}, which 'experiments' does not define")
        unknown = sorted(names(parse(check.require)) - set(experiment.metrics))
        if unknown:
            raise ValueError(f"check {check.id!r}: require uses {', '.join(unknown)}, not metrics of experiment "
                             f"{check.experiment!r} (it has {', '.join(experiment.metrics)})")

    def checks(self) -> list:
        return [check for q in self.questions for check in q.checks]

    def answer_checks(self) -> dict[str, ValueCheck]:
        """The value check that defines each answer name (the first, for the true value)."""
        found: dict[str, ValueCheck] = {}
        for question in self.questions:
            for check in question.checks:
                if isinstance(check, ValueCheck):
                    found.setdefault(check.answer or question.id, check)
        return found

    @property
    def max_points(self) -> float:
        return sum(q.max_points for q in self.questions)


def check_expressions(check: Any) -> list:
    """Every expression a check evaluates in the grader (for validation and the names it calls)."""
    if isinstance(check, ValueCheck):
        return [check.expected, *(d.as_call() for d in check.distractors)]
    if isinstance(check, FunctionCheck):
        exprs = [expr for case in check.all_cases() for expr in [*case.let.values(), *case.args, *case.kwargs.values()]]
        if check.instance:
            exprs += [*check.instance.args, *check.instance.kwargs.values(), *check.instance.update.values()]
        if check.transform:
            exprs += [*check.transform.args, *check.transform.kwargs.values()]
        return exprs + list(check.reference_args) + [v for d in check.distractors for v in d.kwargs.values()]
    return []


def called_names(rubric: Rubric) -> set[str]:
    """Every reference function the rubric calls, so that a missing one is caught at load time."""
    names: set[str] = set()
    exprs = [*rubric.given.values(), *rubric.kit_given.values()]
    for check in rubric.checks():
        exprs += check_expressions(check)
        if isinstance(check, FunctionCheck):
            names.add(check.reference)
            names.update(d.call for d in check.distractors)
            if check.transform is not None:
                names.add(check.transform.call)
    for experiment in rubric.experiments.values():
        exprs += experiment.expressions()
    for expr in exprs:
        names.update(node.call for node in walk(expr) if isinstance(node, Call))
    return names
