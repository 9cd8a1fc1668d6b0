"""What the benchmarks share: timing a command in a fresh process, as a user starts it."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

# As on a user's machine: Python keeps the bytecode of what it imports. A shell
# with PYTHONDONTWRITEBYTECODE set would make every run compile the project's
# own modules again (the installed libraries have theirs from pip).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str], cwd: Path, env: dict | None = None) -> float:
    """Wall time of `cmd` run to completion in `cwd` (with `env` added to the environment); it must succeed."""
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, env={**ENV, **(env or {})})
    return time.perf_counter() - started
