"""Grading on a dask.distributed cluster gives the same results as grading here."""

from __future__ import annotations

from grader.api import grade_class


def test_local_cluster_of_two_workers_matches_the_local_run(root, conv1d):
    folder = root / "submissions" / "conv1d"
    here = grade_class([folder], conv1d, jobs=2).reports
    there = grade_class([folder], conv1d, executor="local:2").reports
    strip = lambda r: (r.submission, r.status, r.score, [(c.id, c.status, c.score, c.message) for q in r.questions for c in q.checks])  # noqa: E731
    assert [strip(r) for r in there] == [strip(r) for r in here]
    assert all(r.status == "graded" for r in there)
    from grader.manifest import load_manifest

    assert len(there) == len(load_manifest(folder / "manifest.yaml").examples)  # not vacuous: the whole class came back
