"""The grader's own errors, in one module that imports nothing of the grader.

Each names what is wrong with which input; the command line turns the configuration errors into
exit code 2 (``grader.cli.common``), the API turns the grading errors into a not-gradable report.
"""

from __future__ import annotations

from pathlib import Path


class RubricError(Exception):
    """A rubric that cannot be used; ``problems`` holds one line per problem, each with file:line."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(problems))


class KitError(Exception):
    """A student kit that cannot be built or read."""


class ManifestError(Exception):
    """A manifest, overrides or roster file that cannot be used (with file and field)."""


class LateError(Exception):
    """A late policy or timestamps file that cannot be used (the message names the file and the field)."""


class SubmissionError(Exception):
    """The submission holds nothing the grader can use (no notebook, module or answers file)."""


class InfrastructureError(RuntimeError):
    """The grader could not run the submission (no kernel, no sandbox): not the student's fault."""


class ZygoteError(RuntimeError):
    """A zygote (a slot's warm kernel parent) could not start or stopped answering: an infrastructure fault."""


class ExpressionError(Exception):
    """A rubric expression could not be evaluated (a reference raised, an answer is unusable)."""


class ReferenceError_(Exception):
    """A reference function failed: the rubric or reference is broken, not the submission."""


class PackageError(Exception):
    """Gradescope's autograder zip cannot be built."""


class ScaffoldError(Exception):
    """A new assignment's files cannot be written (a bad id, or files that already exist)."""


class RosterError(Exception):
    """A class roster that cannot be used (the message names the file, the line and the field)."""
