"""What the benchmarks share: timing a command in a fresh process, as a user starts it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path


def timed(cmd: list[str], cwd: Path) -> float:
    """Wall time of `cmd` run to completion in `cwd`; it must succeed."""
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started
