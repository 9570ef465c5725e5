"""Fill the home, apply resource limits (and, when started as root, drop to an unprivileged uid), then exec.

Usage: ``python -m grader_worker.limits '<json limits>' -- program args...``. It runs as the first
program inside the sandbox (or alone, when no sandbox tool is present), so limits hold for every
process the student's code starts. Standard library only.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys

_RLIMITS = {
    "address_space": resource.RLIMIT_AS,
    "cpu_seconds": resource.RLIMIT_CPU,
    "processes": resource.RLIMIT_NPROC,
    "file_size": resource.RLIMIT_FSIZE,
    "open_files": resource.RLIMIT_NOFILE,
    "core_size": resource.RLIMIT_CORE,
}


def apply(limits: dict) -> None:
    """The sandbox's limits for this process and all it starts; ``home``: copy the read-only submission
    into the (empty, private) home first, owned by the uid the process then drops to."""
    home = limits.get("home")
    if home:
        fill_home(home["from"], home["to"], limits.get("uid"))
    for name, value in limits.items():
        if name in _RLIMITS and value is not None:
            soft_hard = (int(value), int(value))
            try:
                resource.setrlimit(_RLIMITS[name], soft_hard)
            except (ValueError, OSError):
                _, hard = resource.getrlimit(_RLIMITS[name])
                resource.setrlimit(_RLIMITS[name], (min(int(value), hard) if hard >= 0 else int(value), hard))
    uid = limits.get("uid")
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setgid(int(uid))
        os.setuid(int(uid))


def fill_home(source: str, home: str, uid: int | None) -> None:
    shutil.copytree(source, home, dirs_exist_ok=True, symlinks=True)
    if uid is not None and os.getuid() == 0:
        os.chown(home, uid, uid)
        for root, dirs, files in os.walk(home):
            for name in dirs + files:
                os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: python -m grader_worker.limits '<json>' -- program args...")
    apply(json.loads(argv[0]))
    os.execvp(argv[2], argv[2:])


if __name__ == "__main__":
    main(sys.argv[1:])
