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

import contextlib
import gc
import os
import sys
import typing
from collections.abc import Iterator
from typing import Any

_paused = [False]
_cli = [False]  # pause_gc ran: a command-line process (python -m scaleplan, the script)
# OpenBLAS reads its thread count once, when numpy loads, from the first of these that is set
_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


def pause_gc() -> None:
    """Turn the collector off for start-up (a no-op when it is off already)."""
    _cli[0] = True
    if gc.isenabled():
        gc.disable()
        _paused[0] = True


def resume_gc() -> None:
    """End :func:`pause_gc`'s pause: freeze what start-up built and collect again from here."""
    if _paused[0]:
        _paused[0] = False
        gc.freeze()
        gc.enable()


def command_word() -> str | None:
    """The first argument of a command-line process (``scaleplan optimize ...``: optimize), the
    command it runs when it names one; None in any other process, or while the shell asks for
    completions (they list every command)."""
    if not _cli[0] or len(sys.argv) < 2 or "_SCALEPLAN_COMPLETE" in os.environ:
        return None
    return sys.argv[1]


# The CLI's command modules (scaleplan.cli.<name>), in help order: the commands each holds
# (its functions of those names), or the name of the command group it holds (its ``app``).
COMMAND_MODULES: dict[str, tuple[str, ...] | str] = {
    "schema_validate": ("schema", "validate"), "catalog": "catalog", "profile": "profile",
    "optimize": ("optimize",), "render": ("render",), "check": ("check",),
    "simulate": ("simulate",), "diff": ("diff",), "importer": "import", "observe": ("observe",),
}


def command_modules(modules: tuple[str, ...], app: Any) -> Iterator[str]:
    """The CLI's command modules to register on ``app`` (a typer app), in order. In a
    command-line process running ``scaleplan WORD ...``, WORD's module first, and no more once
    the app holds a command or group named WORD (``validate``: the first module, which holds
    it): typer builds every registered command on each run (~7 ms for all 18, and ~8 ms to
    import their modules) though it runs one. Anything else (no command word, an unknown one,
    the root's --help, shell completion, the tests) registers all, in help order."""
    word = command_word()
    for name in sorted(modules, key=lambda m: m != word):
        held = {i.name for i in (*app.registered_commands, *app.registered_groups)}
        if word is not None and word in held:
            return
        yield name


@contextlib.contextmanager
def command_imports(*, blas: bool = True) -> Iterator[None]:
    """A command's own start-up imports, in a command-line process: collected as start-up is
    (paused, then frozen). With ``blas=False`` (a command that does no linear algebra, such as
    ``optimize``: numpy loads only because highspy imports it) numpy loads without OpenBLAS's
    worker thread, which otherwise spins on the second core while the command runs: ~50 ms
    of CPU, for ``import highspy`` alone 0.13 -> 0.075 s (docs/benchmarks/speed.md). The
    variable is set only while the imports run and removed after them, so no child process
    inherits it; a thread count the user set, or numpy already loaded, is left as it is.
    Outside a command-line process (tests, a library user) nothing changes.
    """
    if not _cli[0]:
        yield
        return
    user_set = any(k in os.environ for k in _BLAS_THREADS)
    one_thread = not blas and "numpy" not in sys.modules and not user_set
    pause_gc()
    if one_thread:
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        yield
    finally:
        if one_thread:
            os.environ.pop("OPENBLAS_NUM_THREADS", None)
        resume_gc()


def resolve_annotations(t: Any) -> None:
    """Evaluate the string annotations of each command of ``t`` (a typer app) once, up front.

    With ``from __future__ import annotations`` every annotation is a string, and typer calls
    ``typing.get_type_hints`` (which compiles each string anew) several times per command while
    it builds the command tree, on every run, ``--help`` included. Resolving them once here
    cut that from ~0.08 s to ~0.02 s of CPU (docs/benchmarks/help.md); help and parsing are
    unchanged (same objects typer would compute).
    """
    callbacks = [info.callback for info in t.registered_commands]
    if t.registered_callback is not None:
        callbacks.append(t.registered_callback.callback)
    for group in t.registered_groups:
        if group.typer_instance is not None:
            resolve_annotations(group.typer_instance)
        callbacks.append(group.callback)
    for cb in callbacks:
        hints = getattr(cb, "__annotations__", {})
        if cb is not None and any(isinstance(a, str) for a in hints.values()):
            cb.__annotations__ = typing.get_type_hints(cb, include_extras=True)
