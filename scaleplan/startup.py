"""A command-line process's start-up, without the cyclic garbage collector (issue 20).

Start-up imports and builds ~55,000 objects (modules, classes, pydantic validators, typer's
command tree) that live until the process exits, and the collector's default thresholds scan
them again and again while they pile up: 124 young, 11 middle and one full collection, ~36 ms
of CPU in ``optimize`` on Mélange's README example, all but ~2 ms of it before the command's
own work (docs/benchmarks/speed.md). :func:`pause_gc` turns the collector off when the process
starts (``python -m scaleplan``, the ``scaleplan`` script); :func:`resume_gc` moves what was
built out of its view (``gc.freeze``) and turns it back on, at the default thresholds, before
any command runs. A process that only imports scaleplan or calls the app (the tests) never
pauses, and :func:`resume_gc` does nothing there.
"""

from __future__ import annotations

import gc

_paused = [False]


def pause_gc() -> None:
    """Turn the collector off for start-up (a no-op when it is off already)."""
    if gc.isenabled():
        gc.disable()
        _paused[0] = True


def resume_gc() -> None:
    """End :func:`pause_gc`'s pause: freeze what start-up built and collect again from here."""
    if _paused[0]:
        _paused[0] = False
        gc.freeze()
        gc.enable()
