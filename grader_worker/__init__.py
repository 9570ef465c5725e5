"""Code that runs inside the student's sandboxed process: standard library and numpy only.

This package is mounted read-only into the sandbox; nothing else of the grader is. ``wire`` is the
plain-data format both sides speak, ``bridge`` answers the grader's requests inside the kernel, and
``limits`` applies resource limits before the student's interpreter starts.
"""
