"""Safe, bounded YAML reading and deterministic, atomic writing.

Everything scaleplan reads goes through :func:`read_text` and :func:`parse_yaml` /
:func:`parse_yaml_documents`. They never execute anything (``yaml.SafeLoader`` only), and they
turn every way a file can be bad (missing, a folder, too large, binary, not UTF-8, bad
syntax, ``!!python`` tags, duplicate keys, alias bombs, absurd nesting) into an
:class:`~scaleplan.errors.InputError` that names the file, the line and the fix.

Parsed documents come with a :class:`LineMap` from YAML paths to 1-based line numbers so that
validation errors and check findings can point at the right line, also inside multi-document
files.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scaleplan.errors import DEVICE_ERRNOS, ExternalError, InputError, Problem

MAX_BYTES = 16 * 1024 * 1024  # 16 MiB: far above any real spec, profile, catalog or manifest
MAX_NODES = 2_000_000  # expanded node count (aliases counted as often as they are used)
MAX_DEPTH = 100
PathKey = tuple[str | int, ...]


def format_path(path: PathKey) -> str:
    """``("slo", "percentile")`` -> ``slo.percentile``; list indices as ``[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass(frozen=True)
class LineMap:
    """Line numbers (1-based) of the nodes of one YAML document, keyed by path."""

    start_line: int = 1
    lines: Mapping[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: PathKey) -> int:
        """Line of ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), self.start_line)


@dataclass(frozen=True)
class Document:
    """One parsed YAML document, with where it came from."""

    data: Any
    file: str
    index: int  # position in a multi-document stream, from 0
    lines: LineMap


def _not_found_hint(name: str) -> str:
    """A missing input's fix; '-' is standard input only where a command says so (``check``)."""
    if name == "-":
        return (
            "'-' reads standard input only in `scaleplan check`; give this file's path "
            "(./- for a file named '-')"
        )
    return "check the path; relative paths are resolved from the current folder"


def read_text(path: str | Path, *, what: str = "file", max_bytes: int = MAX_BYTES) -> str:
    """Read a UTF-8 text file with limits; raise InputError naming ``what`` otherwise."""
    p = Path(path)
    name = str(path)
    if "\x00" in name:
        raise InputError(name.replace("\x00", "\\x00"), [Problem("", f"{what} path "
            "contains a NUL byte", hint="check the path")])
    try:
        st = p.stat()  # follows symlinks: a loop or a 5,000-character name raises OSError here
    except FileNotFoundError:
        raise InputError(name, [Problem("", f"{what} not found", hint=_not_found_hint(name))]) from None
    except OSError as exc:
        raise InputError(name[:300], [Problem("", f"cannot read {what}: {exc.strerror or exc}",
            hint="check the path (a symlink loop? a name too long?)")]) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(name, [Problem("", f"{what} is a folder, expected a file",
            hint="pass the path of a file in it")])
    if not stat.S_ISREG(st.st_mode):  # a FIFO or a device would block the read forever
        raise InputError(name, [Problem("", f"{what} is not a regular file (a pipe, "
            "socket or device)", hint="pass a file; for a pipe, use '-' where the command reads "
            "standard input")])
    try:
        size = st.st_size
        if size > max_bytes:
            raise InputError(
                name,
                [Problem("", f"{what} is {size / 1048576:.1f} MiB, larger than the "
                    f"{max_bytes // 1048576} MiB limit", hint="this is not a plausible input; "
                    "check that you passed the right file")],
            )
        with p.open("rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(name, [Problem("", f"cannot read {what}: {exc.strerror or exc}",
            hint="check the file's permissions")]) from None
    return decode_text(raw, name, what=what, max_bytes=max_bytes)


def decode_text(raw: bytes, name: str, *, what: str = "file", max_bytes: int = MAX_BYTES) -> str:
    """Decode bytes as UTF-8 text, rejecting binary data and oversized input."""
    if len(raw) > max_bytes:
        raise InputError(name, [Problem("", f"{what} is larger than the "
            f"{max_bytes // 1048576} MiB limit", hint="check that you passed the right file")])
    if b"\x00" in raw[:65536]:
        raise InputError(name, [Problem("", f"{what} is binary (it contains NUL bytes), "
            "not YAML text", hint="pass a YAML text file")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            name,
            [Problem("", f"{what} is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset "
                f"{exc.start})", hint="save the file as UTF-8", line=line)],
        ) from None
    return text


_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: fast


def _walk(
    node: yaml.Node,
    path: PathKey,
    lines: dict[PathKey, int],
    problems: list[Problem],
    sizes: dict[int, int],
    visiting: set[int],
) -> int:
    """Record line numbers, find duplicate keys, and return the expanded size of ``node``."""
    if len(path) > MAX_DEPTH:
        raise yaml.MarkedYAMLError(problem=f"nesting deeper than {MAX_DEPTH} levels",
            problem_mark=node.start_mark)
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in visiting:  # recursive alias
        raise yaml.MarkedYAMLError(problem="recursive alias", problem_mark=node.start_mark)
    visiting.add(key)
    lines.setdefault(path, node.start_mark.line + 1)
    total = 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for k, v in node.value:
            kname = k.value if isinstance(k, yaml.ScalarNode) else None
            if isinstance(kname, str) and kname != "<<":
                if kname in seen:
                    problems.append(
                        Problem(
                            format_path((*path, kname)),
                            f"duplicate key {kname!r} (first at line {seen[kname]})",
                            hint="remove one of them; YAML keeps only the last silently",
                            line=k.start_mark.line + 1,
                        )
                    )
                else:
                    seen[kname] = k.start_mark.line + 1
            child = (*path, kname if isinstance(kname, str) else "?")
            lines.setdefault(child, k.start_mark.line + 1)
            total += _walk(v, child, lines, problems, sizes, visiting)
            if total > MAX_NODES:
                break
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            total += _walk(v, (*path, i), lines, problems, sizes, visiting)
            if total > MAX_NODES:
                break
    visiting.discard(key)
    sizes[key] = total
    return total


def _short_tag(tag: str) -> str:
    return ("!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:")
        else tag)


def _syntax_problem(exc: yaml.YAMLError, what: str, text: str = "", where: str = "") -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = str(getattr(exc, "problem", None) or exc).strip()
    line = mark.line + 1 if mark is not None else None
    col = mark.column + 1 if mark is not None else None
    if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in problem:
        tag = problem.split("tag ", 1)[-1].strip("'\" ")
        return Problem(
            where,
            f"YAML tag {_short_tag(tag)!r} is not allowed: scaleplan reads plain YAML only and "
                "never executes tags such as !!python/...",
            hint=f"remove the tag from the {what}",
            line=line,
        )
    at = f"line {line}, column {col}" if line else "the file"
    hint = f"fix the YAML syntax at {at}"
    if mark is not None and text:
        lines = text.splitlines()
        bad = lines[mark.line] if mark.line < len(lines) else ""
        if "\t" in bad[: max(mark.column, 0) + 1]:
            hint = f"YAML indents with spaces, never tabs: replace the tab at {at}"
        elif ("cannot start any token" in problem
                and bad[mark.column : mark.column + 1] in {"@", "`"}):
            hint = f"quote the value at {at}: '@' and '`' cannot start a plain YAML value"
        elif "mapping values are not allowed" in problem:
            hint = f"quote the value at {at} if it contains ': ', or check the indentation"
    return Problem(where, f"invalid YAML: {problem}", hint=hint, line=line)


def _path_at_line(lines: Mapping[PathKey, int], exc: yaml.YAMLError) -> str:
    """The shallowest YAML path (below the root) on the line of ``exc`` ("" if none)."""
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return ""
    paths = [p for p, n in lines.items() if n == mark.line + 1 and p]
    return format_path(min(paths, key=len)) if paths else ""


def _documents(text: str, name: str, what: str) -> Iterator[Document]:
    loader = _Loader(text)
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node guarantees one
                break
            lines: dict[PathKey, int] = {}
            problems: list[Problem] = []
            size = _walk(node, (), lines, problems, {}, set())
            if size > MAX_NODES:
                raise InputError(
                    name,
                    [Problem("", f"{what} expands to more than {MAX_NODES:,} YAML nodes (an "
                        "alias bomb?)", hint="remove the repeated aliases",
                        line=node.start_mark.line + 1)],
                )
            if problems:
                raise InputError(name, problems)
            try:
                data = loader.construct_document(node)
            except yaml.constructor.ConstructorError as exc:
                raise InputError(name, [_syntax_problem(exc, what, text, _path_at_line(lines, exc))]) from None
            except ValueError as exc:  # int('9' * 5000): Python's 4,300-digit limit on int()
                raise InputError(name, [Problem("", f"{what} holds a value that cannot be read: "
                    f"{str(exc)[:120]}", hint="numbers in scaleplan files have at most a few dozen "
                    "digits; check the file")]) from None
            yield Document(data=data, file=name, index=index,
                lines=LineMap(node.start_mark.line + 1, lines))
            index += 1
    except yaml.YAMLError as exc:
        raise InputError(name, [_syntax_problem(exc, what, text)]) from None
    except RecursionError:
        raise InputError(name, [Problem("", f"{what} is nested too deeply",
            hint="flatten the structure")]) from None
    finally:
        loader.dispose()


# the page that documents each kind of file, for the "is empty" error (ux25 F18: it said "see
# docs/"); a ``what`` not listed names docs/cli.md, which lists every command's files
DOC_PAGES = {
    "spec": "docs/spec.md",
    "plan": 'docs/optimizer.md, "The plan"',
    "catalog": 'docs/catalog.md, "File format"',
    "accelerator specs": 'docs/catalog.md, "File format"',
    "fix-up table": 'docs/catalog.md, "Shipped data and provenance"',
    "profile": "docs/profile.md",
    "observed": 'docs/observe.md, "The Observed file"',
    "queries file": 'docs/observe.md, "The queries"',
    "LLM presets": "docs/llm.md",
}
# files a command writes, not a person: the fix is that command
WRITTEN_BY = {"plan": "scaleplan optimize", "observed": "scaleplan observe"}


def parse_yaml_documents(text: str, name: str, *, what: str = "file") -> list[Document]:
    """Parse a (possibly multi-document) YAML stream; empty documents are skipped."""
    return [d for d in _documents(text, name, what) if d.data is not None]


def parse_yaml(text: str, name: str, *, what: str = "file",
        expect_mapping: bool = True) -> Document:
    """Parse exactly one YAML document (a mapping unless told otherwise)."""
    docs = list(_documents(text, name, what))
    docs = [d for d in docs if d.data is not None]
    if not docs:
        page = DOC_PAGES.get(what, "docs/cli.md")
        made_by = WRITTEN_BY.get(what)
        how = f"write the {what} as a YAML mapping"
        if made_by:
            how = f"{made_by} writes it: run it again"
        hint = f"{how}; see {page}"
        raise InputError(name, [Problem("", f"{what} is empty", hint=hint)])
    if len(docs) > 1:
        raise InputError(name, [Problem("", f"{what} holds {len(docs)} YAML documents, expected one", hint="remove the extra '---' documents", line=docs[1].lines.start_line)])
    doc = docs[0]
    if expect_mapping and not isinstance(doc.data, dict):
        kind = type(doc.data).__name__
        kind = {"list": "a list", "str": "a string", "int": "a number", "float": "a number",
            "bool": "a boolean"}.get(kind, kind)
        raise InputError(name, [Problem("", f"{what} is {kind}, expected a mapping of "
            "keys to values", hint="start the file with 'apiVersion: scaleplan/v1'",
            line=doc.lines.start_line)])
    return doc


def load_yaml(path: str | Path, *, what: str = "file", expect_mapping: bool = True) -> Document:
    """Read and parse a single-document YAML file."""
    return parse_yaml(read_text(path, what=what), str(path), what=what,
        expect_mapping=expect_mapping)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


_UNICODE_BREAKS = ("\x85", "\u2028", "\u2029")


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if any(c in data for c in _UNICODE_BREAKS):  # YAML readers fold these unless escaped
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_presenter)


_CBase: Any = getattr(yaml, "CSafeDumper", None)  # libyaml's emitter when available


if _CBase is not None:

    class _CDumper(_CBase):  # type: ignore[misc]
        def ignore_aliases(self, data: Any) -> bool:
            return True

    _CDumper.add_representer(str, _str_presenter)

# Strings libyaml's emitter writes byte for byte as PyYAML's does (checked by a property test,
# tests/test_yamlio.py): printable, one line, within the Basic Multilingual Plane. Others
# (empty keys, line breaks, control or astral characters, BOMs) quote or escape differently.
_C_SAFE = re.compile(r"[\x20-\x7e\xa1-\xff\u0100-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]+")


def _c_safe(data: Any) -> bool:
    """Whether every string in ``data`` is one the C emitter writes as PyYAML does."""
    stack = [data]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is dict:
            for k, x in v.items():
                if type(k) is not str or not _C_SAFE.fullmatch(k):
                    return False
                stack.append(x)
        elif t is list:
            stack.extend(v)
        elif t is str:
            if v and not _C_SAFE.fullmatch(v):
                return False
        elif t not in (int, float, bool, type(None)):
            return False
    return True


def _dumper(docs: list[Any]) -> Any:
    return _CDumper if _CBase is not None and _c_safe(docs) else _Dumper


def dump_yaml(data: Any) -> str:
    """Deterministic YAML text: insertion order kept, no aliases, unicode kept, wide lines.

    libyaml's emitter (10-30x faster) writes the documents whose strings it renders exactly as
    PyYAML's pure-Python emitter does; any other document goes through the latter, so the text
    never depends on which emitter ran.
    """
    return yaml.dump(data, Dumper=_dumper([data]), sort_keys=False, allow_unicode=True,
        default_flow_style=False, width=4096)


def dump_yaml_all(docs: list[Any]) -> str:
    return yaml.dump_all(docs, Dumper=_dumper(docs), sort_keys=False, allow_unicode=True,
        default_flow_style=False, width=4096)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_DIGESTS: dict[tuple[str, int, int, int], str] = {}


def sha256_file(path: str | Path) -> str:
    """The file's SHA-256, read once per process: remembered by path, inode, size and mtime, so
    the input hashes a plan records and the parsed-file cache's key share one read."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def current_umask() -> int:
    """The process umask (reading it means setting it; set it straight back)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


def cannot_write_error(path: str | Path, exc: OSError) -> InputError | ExternalError:
    """An output that cannot be written, named by its path (never a traceback): bad input
    (exit 3) for a part of the folder path that is a file, a read-only or pseudo file system or
    no permission; an external fault (exit 5) when the device is full, over quota or failing."""
    p = Path(path)
    if exc.errno in DEVICE_ERRNOS:
        return ExternalError(
            f"{p}: cannot write: {exc.strerror or exc}",
            hint="free space on that file system (or raise the quota), or write to another folder; "
                "nothing was replaced",
        )
    for anc in (p, *p.parents):
        if anc != p and (anc.exists() or anc.is_symlink()) and not anc.is_dir():
            return InputError(str(p), [Problem("", f"cannot write here: {anc} is a file, "
                "not a folder", hint="give a path inside a folder")])
    if exc.errno == errno.EISDIR and p.is_dir():  # an output file named like a folder
        return folder_not_file(p, None)
    return InputError(
        str(p),
        [Problem("", f"cannot write here: {exc.strerror or exc}",
            hint="choose a writable folder you own (not /proc, not a read-only mount)")],
    )


def folder_not_file(path: str | Path, example: str | None) -> InputError:
    """A folder given where an output file goes; the hint names ``example`` inside it (None:
    no example, any file will do)."""
    p = Path(path)
    hint = f"give a file path such as {p / example}" if example is not None else ("give the path "
        "of a file (in that folder or elsewhere)")
    return InputError(str(p), [Problem("", "is a folder, expected a file path", hint=hint)])


def file_not_folder(path: str | Path, option: str = "--out") -> InputError:
    """A file given where an output folder goes (``option``: the option that named it, or "")."""
    what = f"{option} is a file" if option else "is a file"
    problem = Problem("", f"{what}, expected a folder", hint="pass a folder path")
    return InputError(str(path), [problem])


def check_writable(path: str | Path, *, example: str = "FILE") -> None:
    """Refuse, before any work is done, an output file ``path`` that cannot be written: it is a
    folder (the hint names ``example`` in it), a part of its folder path is a file, or the
    nearest existing folder takes no new file (probed with a temporary file, removed at once;
    nothing else is created)."""
    p = Path(path)
    if p.is_dir():
        raise folder_not_file(p, example)
    anc = p.parent
    while not (anc.exists() or anc.is_symlink()) and anc != anc.parent:
        anc = anc.parent
    try:
        if not anc.is_dir():
            raise NotADirectoryError(20, "Not a directory", str(anc))
        fd, probe = tempfile.mkstemp(prefix=".scaleplan-probe-", dir=anc)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise cannot_write_error(p, exc) from None


def atomic_write(path: str | Path, text: str, *, example: str = "FILE") -> None:
    """Write ``text`` (UTF-8, LF line ends) to ``path`` via a temporary file and a rename."""
    atomic_write_bytes(path, text.encode("utf-8"), example=example)


def atomic_write_bytes(path: str | Path, data: bytes, *, example: str = "FILE") -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename; a path
    that cannot be written is an :class:`InputError` (exit 3), never a half-written file; a
    folder at ``path`` is named as such (the hint names ``example`` in it). A path that names
    a FIFO or a device (``/dev/stdout``, ``/dev/null``) is written into, not replaced; a
    symlink's target is written, the link kept."""
    try:
        _atomic_write_bytes(Path(path), data)
    except IsADirectoryError:
        raise folder_not_file(path, example) from None
    except OSError as exc:
        raise cannot_write_error(path, exc) from None


def _atomic_write_bytes(p: Path, data: bytes) -> None:
    if p.is_symlink():  # its target is written; the link stays (a rename replaced the link)
        p = Path(os.path.realpath(p))
    if p.exists() and not p.is_file() and not p.is_dir():  # a FIFO or a device: write into it
        with p.open("wb") as fh:  # (a rename replaced /dev/null, as root, with a file)
            fh.write(data)
        return
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def foreign_files_problem(folder: Path, found: Sequence[Path]) -> Problem:
    """The refusal to replace ``folder``, naming (up to five of) the files scaleplan did not write."""
    shown = ", ".join(str(f.relative_to(folder)) if f.is_relative_to(folder) else str(f)
        for f in found[:5])
    more = f" and {len(found) - 5} more" if len(found) > 5 else ""
    return Problem(
        "",
        f"folder holds files scaleplan did not write: {shown}{more}",
        hint="move them away or choose another --out folder; scaleplan never deletes your files",
    )

