"""Find and parse manifest files into :class:`K8sObject` (the I/O edge of ``check``).

Directories are walked recursively for ``*.yaml`` / ``*.yml`` (sorted, symlinked folders not
followed, hidden folders skipped); ``-`` reads standard input. Everything is read through
:mod:`scaleplan.yamlio`, which bounds size, nesting and alias expansion. Any document that is
not a Kubernetes object (not a mapping, no ``apiVersion`` or ``kind``) makes the whole input
unreadable (:class:`ManifestError`, exit 3): a CI gate must not pass a file it could not read.

``kustomization.yaml`` files are skipped: they configure kustomize and are never applied; so
are scaleplan's own files (``apiVersion: scaleplan/v1``: specs, plans, profiles, catalogs), which
may sit next to the manifests. With ``only_manifests`` (the pre-commit hook) any other document
that is not a Kubernetes object is skipped too, and named in ``skipped``, instead of failing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from scaleplan.check.model import K8sObject
from scaleplan.errors import InputError, ManifestError, Problem
from scaleplan.yamlio import MAX_BYTES, Document, decode_text, parse_yaml_documents, read_text

YAML_SUFFIXES = (".yaml", ".yml")
KUSTOMIZATION_NAMES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})
MAX_FILES = 20_000


def collect_files(paths: Sequence[str | Path]) -> list[str]:
    """Expand directories into their YAML files; keep ``-`` (stdin) as is."""
    out: list[str] = []
    seen: set[str] = set()
    for raw in paths:
        name = str(raw)
        if name == "-":
            if name not in seen:
                out.append(name)
                seen.add(name)
            continue
        p = Path(name)
        if not p.exists():
            raise ManifestError(
                name,
                [
                    Problem(
                        "",
                        "path not found",
                        hint="pass manifest files, folders of them, or - for standard input",
                    )
                ],
            )
        if p.is_dir():
            found = _folder_files(p, name, len(out))
            for f in found:
                if f not in seen:
                    out.append(f)
                    seen.add(f)
        else:
            if p.name in KUSTOMIZATION_NAMES:
                continue
            if name not in seen:
                out.append(name)
                seen.add(name)
    return out


def _folder_files(p: Path, name: str, before: int) -> list[str]:
    """The YAML files under folder ``p`` (kustomizations left out), sorted; ManifestError for
    a folder without any or with too many (``before``: files collected already)."""
    found: list[str] = []
    kustomizations: list[str] = []
    for root, dirs, files in os.walk(p, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if f in KUSTOMIZATION_NAMES:
                kustomizations.append(f)
            elif f.endswith(YAML_SUFFIXES):
                found.append(str(Path(root) / f))
        if before + len(found) > MAX_FILES:
            many = f"more than {MAX_FILES:,} YAML files"
            too_many = Problem("", many, hint="check a narrower folder")
            raise ManifestError(name, [too_many])
    if not found:
        raise ManifestError(name, [_empty_folder(name, kustomizations)])
    return found


def _empty_folder(name: str, kustomizations: list[str]) -> Problem:
    """A folder without manifests; one holding only a kustomization (an overlay) is built first
    (UX review 10: it was told it held no YAML files)."""
    if kustomizations:
        return Problem(
            "",
            f"folder holds only {kustomizations[0]}, which check does not build",
            hint=f"check the overlay's output: kubectl kustomize {name} | scaleplan check -",
        )
    return Problem(
        "",
        "folder holds no *.yaml or *.yml files",
        hint="point check at the folder render wrote, or at manifest files",
    )


def read_stdin(stream: IO[bytes], *, max_bytes: int = MAX_BYTES) -> str:
    raw = stream.read(max_bytes + 1)
    return decode_text(raw, "-", what="standard input", max_bytes=max_bytes)


def objects_from_documents(
    docs: Iterable[Document], *, only_manifests: bool = False, skipped: list[str] | None = None
) -> list[K8sObject]:
    """Turn parsed documents into objects; a document that is not one raises ManifestError.

    scaleplan's own documents are left out (and named in ``skipped``); with ``only_manifests``
    so is any other document that is not a Kubernetes object.
    """
    objs: list[K8sObject] = []
    problems: list[Problem] = []
    file = ""
    for doc in docs:
        file = doc.file
        reason = _not_a_manifest(doc.data, only_manifests)
        if reason is not None:
            if skipped is not None:
                skipped.append(f"{doc.file} (document {doc.index + 1}): {reason}")
            continue
        _collect(doc, doc.data, (), objs, problems)
    if problems:
        raise ManifestError(file, problems)
    return objs


def _not_a_manifest(data: Any, only_manifests: bool) -> str | None:
    """Why a top-level document is not checked, or None to check it."""
    if isinstance(data, Mapping) and str(data.get("apiVersion", "")).startswith("scaleplan/"):
        return f"scaleplan {data.get('kind', 'file')}, not a Kubernetes manifest"
    if not only_manifests:
        return None
    if not isinstance(data, Mapping) or not all(isinstance(data.get(k), str) and data.get(k)
            for k in ("apiVersion", "kind")):
        return "not a Kubernetes object (no apiVersion and kind)"
    return None


def _collect(
    doc: Document,
    data: Any,
    prefix: tuple[str | int, ...],
    objs: list[K8sObject],
    problems: list[Problem],
) -> None:
    line = doc.lines.line_of(prefix)
    where = f"document {doc.index + 1}" + (f" {'.'.join(str(p) for p in prefix)}" if prefix else "")
    if not isinstance(data, Mapping):
        what = {
            "list": "a list",
            "str": "a string",
            "int": "a number",
            "float": "a number",
            "bool": "a boolean",
        }.get(type(data).__name__, type(data).__name__)
        problems.append(
            Problem(
                where,
                f"is {what}, not a Kubernetes object",
                hint="each YAML document must be a mapping with apiVersion, kind and metadata",
                line=line,
            )
        )
        return
    missing = [
        k for k in ("apiVersion", "kind") if not isinstance(data.get(k), str) or not data.get(k)
    ]
    if missing:
        problems.append(
            Problem(
                where,
                f"has no {' or '.join(missing)}",
                hint="every Kubernetes object needs apiVersion and kind (e.g. apiVersion: apps/v1, "
                    "kind: Deployment)",
                line=line,
            )
        )
        return
    if data["kind"] == "Kustomization" and str(data["apiVersion"]).startswith(
        "kustomize.config.k8s.io/"
    ):
        return
    if (
        data["kind"].endswith("List")
        and isinstance(data.get("items"), list)
        and data["apiVersion"] == "v1"
    ):
        for i, item in enumerate(data["items"]):
            _collect(doc, item, (*prefix, "items", i), objs, problems)
        return
    objs.append(K8sObject(data=data, doc=doc, prefix=prefix))


def load_objects(
    paths: Sequence[str | Path],
    *,
    stdin: IO[bytes] | None = None,
    only_manifests: bool = False,
    skipped: list[str] | None = None,
) -> tuple[list[str], list[K8sObject]]:
    """Read every manifest; raise one ManifestError listing every unreadable file's problems."""
    files = collect_files(paths)
    objs: list[K8sObject] = []
    errors: list[InputError] = []
    for f in files:
        try:
            if f == "-":
                if stdin is None:
                    import sys

                    stdin = sys.stdin.buffer
                text = read_stdin(stdin)
            else:
                text = read_text(f, what="manifest")
            docs = parse_yaml_documents(text, f, what="manifest")
            objs.extend(objects_from_documents(docs, only_manifests=only_manifests, skipped=skipped))
        except InputError as exc:
            errors.append(exc)
    if len(errors) == 1:
        e = errors[0]
        raise ManifestError(e.file, e.problems, message=e.message, hint=e.hint)
    if errors:
        msg = f"{len(errors)} manifest files cannot be read:\n" + "\n".join(
            f"  - {e.message}" for e in errors
        )
        raise ManifestError(
            None,
            [p for e in errors for p in e.problems],
            message=msg,
            hint="fix or remove the files listed",
        )
    return files, objs
