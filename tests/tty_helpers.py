"""Running the CLI as a user's terminal shows it: stdout on a pseudo-terminal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def on_terminal(*args: str, cwd: Path | None = None) -> str:
    """Run ``scaleplan ARGS`` with stdout on a pseudo-terminal 80 columns wide (as a user's
    terminal), colour off and no forced-terminal variable of the tests' own environment; its
    stdout as text (exit 0 asserted)."""
    import pty

    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    for name in ("_TYPER_FORCE_DISABLE_TERMINAL", "TTY_COMPATIBLE", "FORCE_COLOR"):
        env.pop(name, None)
    leader, follower = pty.openpty()
    cmd = [sys.executable, "-m", "scaleplan", *args]
    proc = subprocess.Popen(cmd, stdout=follower, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=600) == 0
    return ANSI.sub("", b"".join(chunks).decode().replace("\r\n", "\n"))
