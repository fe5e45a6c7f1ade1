"""A cache of parsed input files, keyed by the file's bytes (I/O edge).

Parsing YAML is the slow part of reading a catalog or a profile (PyYAML builds every node in
Python); validating the same model from JSON is 20-30x faster. :func:`load_model` keeps the
validated model of each file it parses as JSON under the user's cache folder, named by the
SHA-256 of the file's bytes, of the model's source file and the scaleplan version: a changed
file, a changed model or a new version never hits an old entry. A hit is validated again by
pydantic (a cache entry is never trusted blindly, and never executed); anything unexpected
(missing, unreadable, corrupt, out of date) is a miss, and the file is parsed as usual, so bad
input reports exactly the same error, with file and line, with or without the cache.

Folder: ``$SCALEPLAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/scaleplan``, else
``~/.cache/scaleplan``; ``SCALEPLAN_CACHE=off`` turns it off. A folder that cannot be created
or written is skipped silently (the command works the same, only slower).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from scaleplan._version import __version__
from scaleplan.yamlio import MAX_BYTES  # the largest input file scaleplan reads

M = TypeVar("M", bound=BaseModel)
# 2: entries hold only the fields a file states (exclude_unset); 1 held every field
CACHE_FORMAT = 2


def cache_dir() -> Path | None:
    """The cache folder, or None when caching is off or no home is known."""
    if os.environ.get("SCALEPLAN_CACHE", "").lower() in ("0", "off", "no", "false"):
        return None
    explicit = os.environ.get("SCALEPLAN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "scaleplan"
    home = os.environ.get("HOME")
    return Path(home) / ".cache" / "scaleplan" if home else None


@functools.lru_cache(maxsize=16)
def _model_tag(model: type[BaseModel]) -> str:
    """Changes whenever the model's source file or scaleplan's version does."""
    # CACHE_FORMAT: entries written before it (every field, stated or not) are misses
    name = f"{model.__module__}.{model.__qualname__}"
    h = hashlib.sha256(f"{CACHE_FORMAT}/{__version__}/{name}".encode())
    src = getattr(sys.modules.get(model.__module__), "__file__", None)
    if src:
        with contextlib.suppress(OSError):
            h.update(Path(src).read_bytes())
    return h.hexdigest()[:16]


def file_digest(path: str | Path) -> tuple[str, int] | None:
    """(SHA-256 hex, size) of a regular file of at most MAX_BYTES, else None."""
    from scaleplan.yamlio import sha256_file

    try:
        p = Path(path)
        if not p.is_file() or (size := p.stat().st_size) > MAX_BYTES:
            return None
        return sha256_file(p), size
    except OSError:
        return None


def load_model(path: str | Path, model: type[M], parse: Callable[[str | Path], M]) -> M:
    """``parse(path)``, or the same model from the cache when this exact file was parsed before."""
    folder = cache_dir()
    digest = file_digest(path) if folder is not None else None
    if folder is None or digest is None:
        return parse(path)
    entry = folder / "parsed" / f"{model.__name__}-{_model_tag(model)}-{digest[0]}.json"
    try:
        return model.model_validate_json(entry.read_bytes())
    except Exception:  # a miss: absent, unreadable, corrupt or from another model version
        pass
    obj = parse(path)
    # only the fields the file states: which ones it left out is part of the model (a catalog
    # row that re-prices a type keeps the spot price it does not state, catalog.files.merge);
    # a dump of every field read back as a file stating `price_spot: null`
    data = obj.model_dump_json(by_alias=True, exclude_unset=True).encode("utf-8")
    with contextlib.suppress(Exception):
        back = model.model_validate_json(data)
        if back == obj and _stated(back) == _stated(obj):  # only what reads back exactly
            _store(entry, data)
    return obj


def _stated(obj: BaseModel) -> object:
    """The fields ``obj`` states, nested (pydantic's ``==`` does not compare them)."""
    return obj.model_dump(exclude_unset=True)


def _store(entry: Path, data: bytes) -> None:
    """Write a cache entry atomically; give up silently when the folder is not writable."""
    tmp = ""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=entry.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, entry)
    except OSError:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
