"""Rubric models: what an assignment asks, how each answer is checked, and what it is worth.

A rubric is YAML validated by these pydantic models, in four parts: ``expressions`` (how a rubric
names a value without typing it), ``checks`` (value, function, manual), ``experiments`` (training
runs and their checks) and ``model`` (questions, limits, the rubric). ``loading`` reads a file and
reports every problem with the file, the line and the field.
"""

from ..errors import RubricError
from .checks import (Case, Distractor, Feedback, FunctionCheck, Instance, ManualCheck, RandomCases, Tolerance, Transform,
                     ValueCheck)
from .experiments import Experiment, Measure, Metric, Step, TrainingCheck
from .expressions import IDENTIFIER, Call, Expr, Plain, RandomArray, answer_refs, refs, walk
from .loading import json_schema, load_rubric, parse_rubric, public_only
from .model import Check, Limits, Question, Rubric, check_expressions

__all__ = ["IDENTIFIER", "Call", "Case", "Check", "Distractor", "Experiment", "Expr", "Feedback", "FunctionCheck", "Instance",
           "Limits", "ManualCheck", "Measure", "Metric", "Plain", "Question", "RandomArray", "RandomCases", "Rubric",
           "RubricError", "Step", "Tolerance", "TrainingCheck", "Transform", "ValueCheck", "answer_refs", "check_expressions",
           "json_schema", "load_rubric", "parse_rubric", "public_only", "refs", "walk"]
