"""Checks: how each kind of check scores a student's work, in the grader's own process.

``scorer.Scorer`` dispatches over the kinds: ``value`` (with ``distractors`` and follow-through),
``function`` (cases, instances, gradient checks), ``training`` (experiments and their
``requirements``), ``manual``. ``compare`` holds the numeric rules, ``results`` what all kinds share,
``work`` the student's work as checks see it, and ``outcome`` the protocol of the student's process.
Checks never import the runner. (Nothing is imported here, so that the runner can import
``outcome`` without loading the checks.)
"""
