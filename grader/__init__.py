"""dl-grader: sandboxed, automated grading of deep-learning assignments.

``grade(submission, rubric) -> Report`` and ``grade_class(paths, rubric, ...) -> ClassResult`` are
the whole API most callers need; the ``grader`` command line is a thin layer over them.
"""

import sys

# nbformat imports jsonschema, which imports rfc3987-syntax when present (a Jupyter server installs it):
# building its grammar takes 2.5 s, for a URI format check no notebook the grader reads ever needs. Marked
# missing unless something imported it already, jsonschema simply goes without that one format.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

from .api import ClassResult, grade, grade_class  # noqa: E402
from .assignment import Assignment, load_assignment  # noqa: E402
from .errors import RubricError  # noqa: E402
from .late import LatePolicy, LateSubmissions  # noqa: E402
from .report import Report  # noqa: E402
from .roster import Roster, load_roster  # noqa: E402
from .rubric import Rubric, load_rubric  # noqa: E402
from .selfcheck import check  # noqa: E402
from .version import __version__  # noqa: E402

__all__ = ["Assignment", "ClassResult", "LatePolicy", "LateSubmissions", "Report", "Roster", "Rubric", "RubricError", "check",
           "grade", "grade_class", "load_assignment", "load_roster", "load_rubric", "__version__"]
