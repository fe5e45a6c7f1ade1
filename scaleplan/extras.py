"""Optional dependencies: the core install is lean; some commands need an extra.

``catalog refresh`` needs boto3 (the ``[aws]`` extra) and profiling an HTTP endpoint needs
aiohttp (``[http]``). :func:`require` names the extra when the library is missing, before any
work is done; torch, onnxruntime and matplotlib targets and ``simulate --png`` name theirs with
:func:`install_hint`. Both give install commands that work for this project: there is no
PyPI package (and no published repository URL), so a bare ``pip install 'scaleplan[aws]'``
would fail (or install a stranger's package of that name).
"""

from __future__ import annotations

import importlib.util

from scaleplan.errors import ExitCode, ScaleplanError

EXTRAS = {
    "boto3": "aws",
    "aiohttp": "http",
    "torch": "torch",
    "onnxruntime": "onnx",
    "matplotlib": "plot",
}


class MissingExtra(ScaleplanError):
    """A command needs an optional dependency that is not installed (exit 2, like a usage error)."""

    exit_code = ExitCode.USAGE


def require(module: str, what: str) -> None:
    """Raise :class:`MissingExtra` naming the extra when ``module`` cannot be imported."""
    try:
        importlib.import_module(module)  # the command imports it next anyway
    except ImportError:
        raise MissingExtra(
            f"{what} needs {module}, which is not installed",
            hint=install_hint(module),
        ) from None


def install_hint(module: str) -> str:
    """How to add ``module`` to this environment: the library itself, or scaleplan with its
    extra from its source folder (the README's form); scaleplan is not on PyPI yet, and its
    repository is not published at a URL to install from."""
    extra = EXTRAS[module]
    return (
        f"pip install {module} in this environment, or reinstall scaleplan with the extra from "
        f"its source folder: pip install '/path/to/scaleplan[{extra}]' "
        f"(in a clone: pip install -e '.[{extra}]'); scaleplan is not on PyPI yet"
    )
