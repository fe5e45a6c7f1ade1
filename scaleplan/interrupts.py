"""Ctrl-C, remembered: whether a failure was caused by an interrupt.

Python raises KeyboardInterrupt on SIGINT; :func:`watch_sigint` keeps that behaviour and
remembers that it happened. A Ctrl-C that lands inside an import or a C extension can surface
later as another error (an AttributeError on a half-imported module), which must still be
reported as an interrupt (exit 130), not as an internal error (exit 70):
:func:`caused_by_interrupt` says so. The CLI's one error handler (``cli/_common.py``) uses both.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

_SIGINT_SEEN = False


def _on_sigint(signum: int, frame: Any) -> None:
    global _SIGINT_SEEN
    _SIGINT_SEEN = True
    raise KeyboardInterrupt


def watch_sigint() -> None:
    """Python's own SIGINT behaviour (KeyboardInterrupt), remembering that it happened (only in
    the main thread, and only when SIGINT still has Python's default handler)."""
    global _SIGINT_SEEN
    _SIGINT_SEEN = False
    main = threading.current_thread() is threading.main_thread()
    if main and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)


def raises_interrupt(handler: Any) -> bool:
    """Whether the SIGINT handler ``handler`` raises KeyboardInterrupt: Python's own, or
    :func:`watch_sigint`'s (``scaleplan.solve.milp.solver.run_interruptible`` defers it
    until HiGHS has stopped)."""
    return handler is signal.default_int_handler or handler is _on_sigint


def caused_by_interrupt(exc: BaseException) -> bool:
    """Whether a SIGINT was seen since :func:`watch_sigint`, or a KeyboardInterrupt caused
    ``exc`` (e.g. an AttributeError on a module whose import Ctrl-C cut short), following
    ``__context__``/``__cause__``."""
    if _SIGINT_SEEN:
        return True
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, KeyboardInterrupt):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False
