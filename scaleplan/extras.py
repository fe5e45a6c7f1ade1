"""Optional dependencies: the core install is lean; some commands need an extra.

``catalog refresh`` needs boto3 (the ``[aws]`` extra), profiling an HTTP endpoint aiohttp
(``[http]``), a torch target torch (``[torch]``), an ONNX file onnxruntime (``[onnx]``) and
``simulate --png`` matplotlib (``[plot]``). Every one of them that is missing is the same
failure: :class:`MissingExtra`, exit 5 (``EXTERNAL``: the command line and the input files are
right, the environment lacks a library; rerunning the same command after the install works),
raised by :func:`require` or :func:`missing` before any work is done. The hint gives install
commands that work for this project: there is no PyPI package (and no published repository
URL), so a bare ``pip install 'scaleplan[aws]'`` would fail (or install a stranger's package of
that name).
"""

from __future__ import annotations

import importlib.util

from scaleplan.errors import ExternalError

EXTRAS = {
    "boto3": "aws",
    "aiohttp": "http",
    "torch": "torch",
    "onnxruntime": "onnx",
    "matplotlib": "plot",
}


class MissingExtra(ExternalError):
    """A command needs an optional dependency that is not installed: exit 5 (``EXTERNAL``), the
    same for every extra (docs/cli.md, "Exit codes")."""


def missing(module: str, what: str, *, alternative: str = "") -> MissingExtra:
    """The error for ``what`` (a command or target, as the user knows it) needing ``module``;
    ``alternative`` is another way out, added to the install hint (``or drop --png``)."""
    hint = install_hint(module) + (f"; {alternative}" if alternative else "")
    return MissingExtra(f"{what} needs {module}, which is not installed", hint=hint)


def require(module: str, what: str) -> None:
    """Raise :class:`MissingExtra` naming the extra when ``module`` cannot be imported."""
    try:
        importlib.import_module(module)  # the command imports it next anyway
    except ImportError:
        raise missing(module, what) from None


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
