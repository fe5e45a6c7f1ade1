"""Optional dependencies: the core install is lean; two commands need an extra.

``catalog refresh`` needs boto3 (``pip install 'scaleplan[aws]'``) and profiling an HTTP
endpoint needs aiohttp (``pip install 'scaleplan[http]'``). :func:`require` names the extra
when the library is missing, before any work is done.
"""

from __future__ import annotations

import importlib.util

from scaleplan.errors import ExitCode, ScaleplanError

EXTRAS = {"boto3": "aws", "aiohttp": "http"}


class MissingExtra(ScaleplanError):
    """A command needs an optional dependency that is not installed (exit 2, like a usage error)."""

    exit_code = ExitCode.USAGE


def require(module: str, what: str) -> None:
    """Raise :class:`MissingExtra` naming the extra when ``module`` cannot be imported."""
    try:
        importlib.import_module(module)  # the command imports it next anyway
    except ImportError:
        extra = EXTRAS[module]
        raise MissingExtra(
            f"{what} needs {module}, which is not installed",
            hint=f"pip install 'scaleplan[{extra}]' (or pip install {module}) in this environment",
        ) from None
