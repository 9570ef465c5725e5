#!/usr/bin/env bash
# Set up a fresh machine: bubblewrap for the sandbox (when we may install it), a virtualenv with the
# CPU build of torch, and the grader with its dev extras. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null) || echo "WARNING: could not install bubblewrap; grading will run without the sandbox" >&2
  else
    echo "WARNING: bubblewrap (bwrap) is not installed; grading will run without the sandbox" >&2
  fi
fi

# Headless chromium renders the HTML reports in the tests (tests/test_html.py skips its browser part without it).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 \
      || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1)) \
      || echo "WARNING: could not install chromium; the browser checks of the HTML reports will be skipped" >&2
  else
    echo "NOTE: chromium is not installed; the browser checks of the HTML reports will be skipped" >&2
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
# The CPU build first, so that the project's 'torch>=2.1' is already satisfied (no CUDA download).
.venv/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev,dask]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import grader, torch, nbclient; print('grader', grader.__version__, '| torch', torch.__version__)"
