"""dl-grader: sandboxed, automated grading of deep-learning assignments.

``grade(submission, rubric) -> Report`` is the whole API most callers need; the ``grader`` command
line is a thin layer over it.
"""

__version__ = "0.1.0"

from .api import Assignment, grade, grade_many  # noqa: E402
from .report import Report  # noqa: E402
from .rubric import Rubric, RubricError, load_rubric  # noqa: E402
from .selfcheck import check  # noqa: E402

__all__ = ["Assignment", "Report", "Rubric", "RubricError", "check", "grade", "grade_many", "load_rubric", "__version__"]
