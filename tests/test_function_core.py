"""Kernel-free tests of grader/checks (mutation-tested: README, "Mutation testing"); filled by the function pass."""
