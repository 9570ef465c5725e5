"""Shared fixtures: the repository's paths and loaded assignments."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import Assignment, load_assignment

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def conv1d() -> Assignment:
    return load_assignment(ROOT / "rubrics" / "conv1d.yaml")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
