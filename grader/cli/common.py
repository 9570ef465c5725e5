"""What every command shares: the usage-error exit code, loading a rubric or kit, the consoles."""

from __future__ import annotations

import click
from rich.console import Console

from ..assignment import Assignment, load_assignment
from ..errors import KitError, RubricError

console = Console(stderr=True)  # progress, warnings
out = Console()  # results


class ConfigError(click.ClickException):
    """A usage or configuration error (a bad rubric, kit, policy or option): exit code 2."""

    exit_code = 2


def rubric_problems(exc: RubricError) -> str:
    return "the rubric has problems:\n" + "\n".join(f"  {p}" for p in exc.problems)


def load(rubric: str, public: bool = False) -> Assignment:
    """The assignment of a rubric file or student kit; its problems as a ConfigError."""
    try:
        assignment = load_assignment(rubric)
    except KitError as exc:
        raise ConfigError(str(exc)) from None
    except RubricError as exc:
        raise ConfigError(rubric_problems(exc)) from None
    return assignment.public() if public else assignment

