#!/usr/bin/env bash
# The main job: grade every bundled example class end to end into results/<assignment>/.
set -euo pipefail
cd "$(dirname "$0")/.."
for rubric in rubrics/*.yaml; do
  id=$(basename "$rubric" .yaml)
  [ -d "submissions/$id" ] || continue
  echo "== $id"
  .venv/bin/grader grade "$rubric" "submissions/$id" --out "results/$id" --jobs 2
done
