"""Children that must obey a real SIGINT.

A test run started in the background (``pytest &``, ``nohup``, some CI runners) has SIGINT
ignored, and children inherit that: Python then installs no KeyboardInterrupt handler and the
Ctrl-C tests' signal is lost. ``preexec_fn=sigint_default`` gives the child the default
disposition, so it starts as it would from a terminal.
"""

from __future__ import annotations

import signal


def sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
