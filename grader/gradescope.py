"""Gradescope: the autograder zip that ``grader gradescope-package`` builds (``grader gradescope-run`` grades in it).

Gradescope (https://gradescope-autograders.readthedocs.io/en/latest/specs/) unpacks the zip into
``/autograder/source``, runs ``setup.sh`` once while it builds the image (Ubuntu, as root), copies
``run_autograder`` to ``/autograder/run_autograder`` and runs it for every submission, with the
student's files in ``/autograder/submission``; it reads ``/autograder/results/results.json``.

The zip holds::

    setup.sh            installs python3, bubblewrap, a venv with the CPU build of torch and the grader
    run_autograder      grades /autograder/submission, writes /autograder/results/results.json
    dl-grader/          the grader's own source (pyproject.toml, grader/, grader_worker/), pip-installed
    lib/<package>/      the rubric's reference package, put on PYTHONPATH
    rubric/<id>.yaml    the rubric (and its sheet)
    autograder.json     what was packed, and by which grader version

Outside Gradescope (tests, a dry run): ``AUTOGRADER_ROOT`` moves ``/autograder``,
``GRADER_PYTHON`` names the interpreter to use, and ``GRADER_SKIP_INSTALL=1`` makes ``setup.sh``
skip its installs (it still checks that the rubric and references load).

A submission the grader could not grade (the kernel would not start, a reference failed) gets no
results.json: run_autograder prints the reason to the staff's log and fails, so Gradescope reports
an autograder failure rather than a silent zero.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import shlex
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

from .assignment import load_assignment
from .errors import PackageError
from .kit import is_kit
from .version import __version__

DEFAULT_ROOT = "/autograder"
VENV = "/opt/dl-grader-venv"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image (Ubuntu 22.04 or later).
# GRADER_SKIP_INSTALL=1 skips the installs (a machine that has the grader already); GRADER_PYTHON
# then names its interpreter.
set -euo pipefail
SOURCE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
VENV="${{GRADER_VENV:-{venv}}}"
if [ "${{GRADER_SKIP_INSTALL:-0}}" != "1" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends python3 python3-venv python3-pip bubblewrap
  python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "dl-grader needs Python >= 3.10: pick the Ubuntu 22.04 (or later) base image")'
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --upgrade pip
  # The CPU build of torch (Gradescope has no GPU; the default build pulls gigabytes of CUDA).
  "$VENV/bin/python" -m pip install {torch} --index-url https://download.pytorch.org/whl/cpu
  "$VENV/bin/python" -m pip install "$SOURCE/dl-grader"
fi
PYTHON="${{GRADER_PYTHON:-$VENV/bin/python}}"
# Fail the image build now, not at the first submission, if the rubric or its references do not load.
PYTHONPATH="$SOURCE/lib${{PYTHONPATH:+:$PYTHONPATH}}" "$PYTHON" -m grader gradescope-run --check-only --rubric "$SOURCE/rubric/{rubric}"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope copies this to /autograder/run_autograder and runs it for every submission.
# AUTOGRADER_ROOT (default /autograder) and GRADER_PYTHON let it run elsewhere.
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-{root}}}"
SOURCE="$ROOT/source"
PYTHON="${{GRADER_PYTHON:-${{GRADER_VENV:-{venv}}}/bin/python}}"
export PYTHONPATH="$SOURCE/lib${{PYTHONPATH:+:$PYTHONPATH}}"
mkdir -p "$ROOT/results"
exec "$PYTHON" -m grader gradescope-run --root "$ROOT" --rubric "$SOURCE/rubric/{rubric}"
"""


def _project_source() -> tuple[Path | None, list[Path]]:
    """The grader's pyproject.toml (when running from a checkout) and its package folders."""
    here = Path(__file__).resolve().parent
    packages = [here]
    spec = importlib.util.find_spec("grader_worker")
    if spec is None or not spec.submodule_search_locations:
        raise PackageError("cannot find the grader_worker package")
    packages.append(Path(next(iter(spec.submodule_search_locations))))
    pyproject = here.parent / "pyproject.toml"
    return (pyproject if pyproject.exists() else None), packages


def _pyproject_from_metadata() -> str:
    """A pyproject.toml for an installed (not checked-out) grader, from its distribution metadata."""
    dist = importlib.metadata.distribution("dl-grader")
    requires = [r for r in (dist.requires or []) if "extra ==" not in r]
    lines = ['[build-system]', 'requires = ["setuptools>=68"]', 'build-backend = "setuptools.build_meta"', "",
             "[project]", 'name = "dl-grader"', f'version = "{dist.version}"', 'requires-python = ">=3.10"',
             "dependencies = [" + ", ".join(json.dumps(r) for r in requires) + "]", ""]
    groups: dict[str, list[str]] = {}
    for entry in dist.entry_points:
        groups.setdefault(entry.group, []).append(f"{json.dumps(entry.name)} = {json.dumps(entry.value)}")
    for group, entries in groups.items():
        header = "[project.scripts]" if group == "console_scripts" else f'[project.entry-points."{group}"]'
        lines += [header, *entries, ""]
    lines += ["[tool.setuptools.packages.find]", 'include = ["grader*", "grader_worker*"]', ""]
    return "\n".join(lines)


def _reference_source(module: str) -> Path:
    """The file or package folder holding the rubric's reference module's top-level package."""
    top = module.split(".")[0]
    spec = importlib.util.find_spec(top)
    if spec is None:
        raise PackageError(f"cannot find the reference package {top!r}")
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    if spec.origin is None:
        raise PackageError(f"the reference module {top!r} has no file")
    return Path(spec.origin)


def build_package(rubric_path: Path, out: Path, *, torch: str | None = None, name: str = "autograder.zip") -> Path:
    """Build the Gradescope autograder zip for a rubric; returns the zip's path.

    ``torch``: the requirement setup.sh installs from the CPU wheel index. Unpinned by default: the
    references run inside the same image as the students' code, and a pin can lack a wheel for the
    image's Python.
    """
    rubric_path = Path(rubric_path)
    if is_kit(rubric_path) or is_kit(rubric_path.parent):
        raise PackageError(f"{rubric_path} is a student kit; Gradescope needs the full rubric (hidden checks, references)")
    assignment = load_assignment(rubric_path)  # raises RubricError for a broken rubric or reference
    rubric = assignment.rubric
    pyproject, packages = _project_source()
    with tempfile.TemporaryDirectory(prefix="gradescope-") as tmp:
        stage = Path(tmp) / "autograder"
        (stage / "rubric").mkdir(parents=True)
        shutil.copy(rubric_path, stage / "rubric" / rubric_path.name)
        if rubric.sheet and (rubric_path.parent / rubric.sheet).is_file():
            shutil.copy(rubric_path.parent / rubric.sheet, stage / "rubric" / Path(rubric.sheet).name)
        source = stage / "dl-grader"
        source.mkdir()
        for package in packages:
            shutil.copytree(package, source / package.name, ignore=_IGNORE)
        if pyproject is not None:
            shutil.copy(pyproject, source / "pyproject.toml")
            readme = pyproject.parent / "README.md"
            if readme.exists():
                shutil.copy(readme, source / "README.md")
        else:
            (source / "pyproject.toml").write_text(_pyproject_from_metadata(), encoding="utf-8")
        if not (source / "README.md").exists():
            (source / "README.md").write_text("dl-grader\n", encoding="utf-8")
        (stage / "lib").mkdir()
        if rubric.reference:
            reference = _reference_source(rubric.reference)
            if reference.is_dir():
                shutil.copytree(reference, stage / "lib" / reference.name, ignore=_IGNORE)
            else:
                shutil.copy(reference, stage / "lib" / reference.name)
        # Data files in the packages (HTML templates) are installed too.
        (source / "MANIFEST.in").write_text("graft grader\ngraft grader_worker\nglobal-exclude *.py[cod]\n", encoding="utf-8")
        torch = torch or "torch"
        (stage / "setup.sh").write_text(SETUP_SH.format(venv=VENV, torch=_shell_word(torch), rubric=rubric_path.name), encoding="utf-8")
        (stage / "run_autograder").write_text(RUN_AUTOGRADER.format(root=DEFAULT_ROOT, venv=VENV, rubric=rubric_path.name), encoding="utf-8")
        meta = {"rubric": rubric.id, "rubric_file": f"rubric/{rubric_path.name}", "max_score": rubric.max_points,
                "reference": rubric.reference, "grader_version": __version__, "torch": torch,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (stage / "autograder.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        out.mkdir(parents=True, exist_ok=True)
        target = out / name
        _zip(stage, target)
    return target


def _shell_word(text: str) -> str:
    return shlex.quote(text)


def _zip(folder: Path, target: Path) -> None:
    """Zip the folder's contents (not the folder) with Unix modes, so the two scripts stay executable."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if not path.is_file():
                continue
            name = path.relative_to(folder).as_posix()
            info = zipfile.ZipInfo(name, date_time=time.gmtime(path.stat().st_mtime)[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if name in ("setup.sh", "run_autograder") else 0o644
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, path.read_bytes())


def extract(archive: Path, folder: Path) -> None:
    """Unzip keeping the Unix modes (as Gradescope's unzip does; zipfile.extractall drops them)."""
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            path = Path(zipped.extract(info, folder))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)
