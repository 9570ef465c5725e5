"""dl-grader: sandboxed, automated grading of deep-learning assignments.

``grade(submission, rubric) -> Report`` and ``grade_class(paths, rubric, ...) -> ClassResult`` are
the whole API most callers need; the ``grader`` command line is a thin layer over them.
"""

from .api import ClassResult, grade, grade_class
from .assignment import Assignment, load_assignment
from .errors import RubricError
from .late import LatePolicy, LateSubmissions
from .report import Report
from .roster import Roster, load_roster
from .rubric import Rubric, load_rubric
from .selfcheck import check
from .version import __version__

__all__ = ["Assignment", "ClassResult", "LatePolicy", "LateSubmissions", "Report", "Roster", "Rubric", "RubricError", "check",
           "grade", "grade_class", "load_assignment", "load_roster", "load_rubric", "__version__"]
