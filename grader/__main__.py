"""``python -m grader``: the ``grader`` command."""

from .cli import main

main()
