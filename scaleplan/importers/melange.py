"""Import a Mélange config or AIBrix gpu-optimizer profiles as a scaleplan problem.

Mélange (tyler-griggs/melange-release, ``melange/config/example.json``)::

    {"gpu_info": {"A10G": {"cost": 1.01, "tputs": [[2, 1], [5, 2]]}, ...},
     "workload_distribution": [[0.2, 0.1], [0.5, 0.2]], "total_request_rate": 30.0,
     "slice_factor": 1}

``tputs[i][j]`` is the highest request rate one GPU serves within the SLO for input bucket i
and output bucket j; ``workload_distribution[i][j]`` is the share of requests in that bucket.

AIBrix (vllm-project/aibrix ``gpu_optimizer/.../result/*.json``) stores one GPU per file:
``{"gpu", "cost", "tputs", "indexes", "slos"?}`` with the matrix **transposed**: rows are
*output* lengths ``indexes[0]`` and columns *input* lengths ``indexes[1]``. Several files make
one problem; the workload is uniform over the grid unless a distribution is given.

The result states the same problem for scaleplan: one request class per bucket with a
positive share, one profile point per (GPU, bucket) at the table's rate, marked as measured
under open-loop load (``offered_rps``) so that no queueing derating applies, no headroom, no
redundancy, no minimum replicas, and a catalog with one single-GPU "instance type" per GPU at
the given $/h (provider ``onprem``, region ``melange``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from scaleplan.catalog.model import Accelerator, Catalog, CatalogFile, InstanceRow, Provenance
from scaleplan.errors import InputError, OptionError, Problem, option_error
from scaleplan.names import unknown_hint
from scaleplan.profile.model import Profile
from scaleplan.spec import Spec
from scaleplan.table import Report

# Mélange's router sends each request-size bucket to the GPU types chosen for it: the imported
# spec says every request names its bucket (the class) in this header, so the HTTPRoute routes
# per class (kubernetes.class_header) and the two tools solve the same problem.
CLASS_HEADER = "X-Request-Class"

REGION = "melange"
SLO_MS = 1000.0  # placeholder SLO: the tables already hold SLO-meeting rates


@dataclass(frozen=True)
class GpuTable:
    name: str
    cost: float
    # (input bucket label, output bucket label) -> requests/s
    tputs: dict[tuple[str, str], float]


@dataclass(frozen=True)
class Problem_:
    gpus: tuple[GpuTable, ...]
    distribution: dict[tuple[str, str], float]
    rate: float
    slo_ms: float
    percentile: int
    source: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Imported:
    spec: Spec
    profile: Profile
    catalog: CatalogFile
    notes: tuple[str, ...]


MELANGE_KEYS = ("gpu_info", "workload_distribution", "total_request_rate", "slice_factor")


def _err(file: str, where: str, msg: str, hint: str) -> InputError:
    return InputError(file, [Problem(where, msg, hint=hint)])


def _matrix(file: str, where: str, v: Any) -> list[list[float]]:
    if not isinstance(v, list) or not v or not all(isinstance(r, list) and r for r in v):
        raise _err(file, where, "must be a non-empty list of non-empty lists of numbers",
            "check the file format")
    width = len(v[0])
    out = []
    for i, row in enumerate(v):
        if len(row) != width:
            raise _err(file, f"{where}[{i}]", f"row has {len(row)} values, expected {width}",
                "every row must have the same length")
        vals = []
        for j, x in enumerate(row):
            if (isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x)
                    or x < 0):
                raise _err(file, f"{where}[{i}][{j}]", f"must be a finite number >= 0, got {x!r}",
                    "fix the value")
            vals.append(float(x))
        out.append(vals)
    return out


def _cost(file: str, where: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
        raise _err(file, where, f"must be a price >= 0 in $/h, got {v!r}", "fix the cost")
    return float(v)


def parse_melange(data: Any, file: str) -> Problem_:
    if not isinstance(data, dict) or "gpu_info" not in data:
        raise _err(file, "", "not a Mélange config (no 'gpu_info')",
            "pass melange/config/*.json or AIBrix profile JSON files")
    if extra := sorted(map(str, set(data) - set(MELANGE_KEYS))):  # Mélange's Config refuses them
        raise _err(file, extra[0], "unknown key", unknown_hint(extra[0], MELANGE_KEYS, "keys"))
    gi = data["gpu_info"]
    if not isinstance(gi, dict) or not gi:
        raise _err(file, "gpu_info", "must be a non-empty mapping of GPU name -> {cost, tputs}",
            "check the file")
    wd = _matrix(file, "workload_distribution", data.get("workload_distribution"))
    rate = data.get("total_request_rate")
    if (isinstance(rate, bool) or not isinstance(rate, int | float) or not math.isfinite(rate)
            or rate <= 0):
        raise _err(file, "total_request_rate", f"must be a positive number, got {rate!r}",
            "give the request rate in req/s")
    total = sum(sum(r) for r in wd)
    if total <= 0:
        raise _err(file, "workload_distribution", "all shares are 0",
            "give at least one positive share")
    labels = [[(f"i{i}", f"o{j}") for j in range(len(wd[0]))] for i in range(len(wd))]
    dist = {labels[i][j]: wd[i][j] / total for i in range(len(wd)) for j in range(len(wd[0]))
        if wd[i][j] > 0}
    notes: tuple[str, ...] = ()
    if not math.isclose(total, 1.0, rel_tol=1e-9):  # Mélange: share x rate per bucket, unnormalised
        notes = (
            f"workload_distribution sums to {total:g}, not 1: Mélange plans each bucket at share x "
            f"total_request_rate, so the spec's peak_rps is {float(rate):g} x {total:g} = "
            f"{float(rate) * total:g} req/s (the shares normalised)",
        )
    gpus = []
    for name in sorted(gi):
        g = gi[name]
        if not isinstance(g, dict):
            raise _err(file, f"gpu_info.{name}", "must be a mapping with cost and tputs",
                "check the file")
        t = _matrix(file, f"gpu_info.{name}.tputs", g.get("tputs"))
        if len(t) != len(wd) or len(t[0]) != len(wd[0]):
            raise _err(file, f"gpu_info.{name}.tputs", f"is {len(t)}x{len(t[0])}, the workload "
                f"distribution is {len(wd)}x{len(wd[0])}", "the matrices must have the same shape")
        tp = {labels[i][j]: t[i][j] for i in range(len(t)) for j in range(len(t[0])) if t[i][j] > 0}
        gpus.append(GpuTable(name=str(name), cost=_cost(file, f"gpu_info.{name}.cost", g.get("cost")), tputs=tp))
    return Problem_(
        gpus=tuple(gpus), distribution=dist, rate=float(rate) * total, slo_ms=SLO_MS, percentile=95,
        source=file, notes=notes,
    )


def parse_aibrix(docs: Sequence[tuple[str, Any]], rate: float,
        distribution: list[list[float]] | None = None) -> Problem_:
    gpus = []
    grid: tuple[list[int], list[int]] | None = None
    slo_ms, pct = SLO_MS, 95
    for file, d in docs:
        if not isinstance(d, dict) or "tputs" not in d or "indexes" not in d:
            raise _err(file, "", "not an AIBrix profile (needs 'tputs' and 'indexes')",
                "pass AIBrix gpu_optimizer profile JSON files or one Mélange config")
        idx = d["indexes"]
        if not (isinstance(idx, list) and len(idx) == 2
                and all(isinstance(a, list) and a and all(isinstance(x, int | float) for x in a)
                for a in idx)):
            raise _err(file, "indexes", "must be [[output lengths...], [input lengths...]]",
                "check the file")
        outs, ins = [int(x) for x in idx[0]], [int(x) for x in idx[1]]
        t = _matrix(file, "tputs", d["tputs"])
        # AIBrix: rows = output lengths (indexes[0]), columns = input lengths (indexes[1])
        if len(t) != len(outs) or len(t[0]) != len(ins):
            raise _err(file, "tputs", f"is {len(t)}x{len(t[0])} but indexes say {len(outs)} output "
                f"x {len(ins)} input lengths", "rows are output lengths, columns input lengths")
        if grid is None:
            grid = (outs, ins)
        elif grid != (outs, ins):
            raise _err(file, "indexes", "differ from the first profile's",
                "profiles must share one bucket grid")
        name = str(d.get("gpu") or file)
        tp = {(f"in{ins[c]}", f"out{outs[r]}"): t[r][c] for r in range(len(outs))
            for c in range(len(ins)) if t[r][c] > 0}
        gpus.append(GpuTable(name=name, cost=_cost(file, "cost", d.get("cost", 1.0)), tputs=tp))
        slos = d.get("slos")
        if isinstance(slos, dict) and isinstance(slos.get("e2e"), int | float):
            slo_ms = float(slos["e2e"]) * 1000.0
            p = slos.get("percentile")
            pct = int(p) if p in (50, 90, 95, 99) else 99
    assert grid is not None
    outs, ins = grid
    if distribution is None:
        n = len(outs) * len(ins)
        dist = {(f"in{i}", f"out{o}"): 1.0 / n for o in outs for i in ins}
    else:
        dm = _matrix("--distribution", "", distribution)
        tot = sum(sum(r) for r in dm)
        dist = {(f"in{ins[c]}", f"out{outs[r]}"): dm[r][c] / tot for r in range(len(outs))
            for c in range(len(ins)) if dm[r][c] > 0}
    return Problem_(gpus=tuple(gpus), distribution=dist, rate=rate, slo_ms=slo_ms, percentile=pct,
        source=", ".join(f for f, _ in docs))


def _dns(s: str) -> str:
    out = re.sub(r"[^a-z0-9-]+", "-", s.lower()).strip("-")
    return out[:40].strip("-") or "imported"


def to_scaleplan(p: Problem_, base: Catalog, *, name: str) -> Imported:
    """State the problem as spec + profile + catalog (pure)."""
    cls_name = {k: f"{k[0]}-{k[1]}" for k in p.distribution}
    classes: list[dict[str, Any]] = [{"name": cls_name[k], "share": v} for k,
        v in sorted(p.distribution.items(), key=lambda kv: cls_name[kv[0]])]
    # make the shares sum to exactly 1 in floating point
    drift = 1.0 - sum(c["share"] for c in classes)
    classes[-1]["share"] = classes[-1]["share"] + drift
    accs: list[Accelerator] = []
    rows: list[InstanceRow] = []
    ms: list[dict[str, Any]] = []
    notes = list(p.notes)
    lat = {"p50": p.slo_ms, "p90": p.slo_ms, "p95": p.slo_ms, "p99": p.slo_ms}
    for g in p.gpus:
        canonical = (base.resolve(g.name)
            or base.resolve(g.name.rsplit("-", 1)[-1]))  # AIBrix: "simulator-llama2-7b-a100"
        if canonical is None or canonical == "CPU":
            canonical = re.sub(r"[^A-Za-z0-9-]+", "-", g.name).strip("-") or "GPU"
            accs.append(Accelerator(name=canonical, memory_gib=80.0,
                source=f"imported from {p.source} (memory unknown; placeholder)"))
            notes.append(f"GPU {g.name!r} is not in the accelerator catalog; added as "
                f"{canonical!r} with placeholder specs")
        itype = _dns(g.name)
        rows.append(InstanceRow(provider="onprem", region=REGION, instance_type=itype, family=itype,
            accelerator=canonical, accelerator_count=1, vcpus=8, memory_gib=64.0,
            price_ondemand=g.cost, source=f"imported from {p.source}"))
        for k, tput in sorted(g.tputs.items()):
            if k not in p.distribution:
                continue
            ms.append({"device": "imported", "accelerator": canonical, "batch_size": 1,
                "latency_ms": lat, "throughput_rps": tput, "offered_rps": tput,
                "request_class": cls_name[k], "source": "imported"})
    if not ms:
        raise _err(p.source, "", "no GPU can serve any bucket with positive demand",
            "check the tputs tables")
    spec_data = {
        "apiVersion": "scaleplan/v1",
        "kind": "InferenceService",
        "metadata": {"name": name},
        "model": {"profile": "profile.yaml", "memory_gib": 1},
        "traffic": {"peak_rps": p.rate, "headroom": 0.0, "classes": classes},
        "slo": {"latency_ms": p.slo_ms, "percentile": p.percentile},
        "placement": {"providers": ["onprem"], "regions": [REGION], "redundancy": "none",
            "min_replicas": 0, "max_gpus_per_replica": 1, "catalogs": ["catalog.yaml"]},
        "kubernetes": {"image": "registry.example.com/imported/model:0.0.0",
            "autoscaler": {"type": "none"}, "routing": "gateway-api",
            "gateway": {"name": "inference-gateway"},
            **({"class_header": CLASS_HEADER} if len(classes) > 1 else {})},
    }
    try:
        spec = Spec.model_validate(spec_data)
    except ValidationError as exc:  # --name ../../x, --rate 1e300: the user's options, not a bug
        from scaleplan.problems import problems_from_validation

        raise InputError(p.source, problems_from_validation(exc, Spec),
            hint="check --name (a DNS-1123 label) and --rate (at most 1e7 requests/s)") from None
    profile = Profile.model_validate({"apiVersion": "scaleplan/v1", "kind": "Profile",
        "metadata": {"model": name, "kind": "imported", "imported_from": p.source,
        "notes": ["Rates are the highest request rates meeting the source's SLO (open-loop), so no "
        "queueing derating applies."]}, "measurements": ms})
    cat = CatalogFile(provenance=Provenance(source=f"imported from {p.source}",
        caveats=("One single-GPU row per GPU type at the source's $/h; vCPUs and memory are "
        "placeholders.",)), accelerators=tuple(accs), instances=tuple(rows))
    return Imported(spec=spec, profile=profile, catalog=cat, notes=tuple(notes))


def load_json(path: str) -> Any:
    from scaleplan.yamlio import read_text

    text = read_text(path, what="JSON file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _err(path, "", f"invalid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            "fix the JSON syntax") from None
    except RecursionError:
        raise _err(path, "", "JSON is nested too deeply", "this is not a Mélange or AIBrix file") from None
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise _err(path, "", f"JSON holds a value that cannot be read: {str(exc)[:100]}",
            "check the file") from None


def _check_options(rate: float | None, name: str | None) -> None:
    """``--rate`` and ``--name`` as typed: a bad value is a usage error (exit 2), refused before
    any file is read (it was an invalid spec built from the file, exit 3)."""
    from dataclasses import replace

    from scaleplan.problems import problems_from_validation
    from scaleplan.spec import MAX_RPS, Metadata

    if rate is not None and not (math.isfinite(rate) and 0 < rate <= MAX_RPS):
        message = f"must be > 0 and at most {MAX_RPS:,.0f} requests/s; got {rate:g}"
        raise OptionError(message, option="--rate")
    if name is not None:
        try:
            Metadata.model_validate({"name": name})
        except ValidationError as exc:
            problems = problems_from_validation(exc, Metadata)
            raise option_error([replace(p, where="--name") for p in problems]) from None


def import_files(paths: Sequence[str], base: Catalog, *, rate: float | None = None,
        name: str | None = None, need_rate: bool = True) -> Imported:
    """One Mélange config, or one or more AIBrix profiles (then ``rate`` is required, unless
    ``need_rate`` is False: only the spec's traffic depends on it, not the profile)."""
    _check_options(rate, name)
    docs = [(p, load_json(p)) for p in paths]
    first = docs[0][1]
    svc = name or _dns(paths[0].rsplit("/", 1)[-1].rsplit(".", 1)[0])
    if isinstance(first, dict) and "gpu_info" in first:
        if len(docs) > 1:
            raise _err(paths[1], "", "a Mélange config holds every GPU; pass it alone",
                "import one Mélange config at a time")
        prob = parse_melange(first, paths[0])
        if rate is not None:
            prob = Problem_(prob.gpus, prob.distribution, rate, prob.slo_ms, prob.percentile,
                prob.source)
    else:
        for f, d in docs:
            if not isinstance(d, dict) or "tputs" not in d or "indexes" not in d:
                raise _err(f, "", "not an AIBrix profile (needs 'tputs' and 'indexes') nor a "
                    "Mélange config", "pass AIBrix gpu_optimizer profile JSON files or one "
                    "Mélange config")
        if rate is None and need_rate:
            raise _err(paths[0], "", "AIBrix profiles hold no request rate", "pass --rate RPS")
        prob = parse_aibrix(docs, rate if rate is not None else 1.0)
    return to_scaleplan(prob, base, name=svc)


def import_profile(paths: Sequence[str], base: Catalog, *,
        name: str | None = None) -> tuple[Profile, list[str]]:
    """Only the profile of :func:`import_files` (``scaleplan profile import --format
    melange|aibrix``), with its notes: one point per (GPU, bucket), request class per bucket."""
    res = import_files(paths, base, name=name, need_rate=False)
    return res.profile, list(res.notes)


IMPORT_FILES = ("spec.yaml", "profile.yaml", "catalog.yaml")


def write_import(res: Imported, out: str, *, force: bool) -> list[str]:
    """``import melange --out DIR``: DIR/spec.yaml, profile.yaml and catalog.yaml (refused when
    one exists and ``force`` is off); the paths written."""
    from pathlib import Path

    from scaleplan.outputs import commit_outputs
    from scaleplan.profile.model import dump_profile
    from scaleplan.yamlio import dump_yaml, file_not_folder

    d = Path(out)
    if d.exists() and not d.is_dir():
        raise file_not_folder(out)
    existing = [n for n in IMPORT_FILES if (d / n).exists()]
    if existing and not force:
        exist = "exists" if len(existing) == 1 else "exist"
        hint = "pass --force to replace them, or choose another --out folder"
        message = f"{', '.join(existing)} already {exist} in {out}"
        raise _err(str(d / existing[0]), "", message, hint)
    spec = res.spec.model_dump(mode="json", exclude_none=True, exclude_defaults=True, by_alias=True)
    spec_text = dump_yaml(spec | {"apiVersion": "scaleplan/v1", "kind": "InferenceService"})
    catalog = res.catalog.model_dump(mode="json", exclude_none=True)
    for row in catalog["instances"]:  # no labels of its own: no key (as before node_labels)
        if not row["node_labels"]:
            del row["node_labels"]
    texts = {
        "spec.yaml": spec_text,
        "profile.yaml": dump_profile(res.profile),
        "catalog.yaml": dump_yaml(catalog),
    }
    # the spec names the profile and catalog: the three are swapped in together (no lock file
    # is left in the user's folder: the folder itself is locked)
    commit_outputs(d, texts, lock_file=False)
    return [str(d / n) for n in IMPORT_FILES]


def import_melange(
    paths: Sequence[str], out: str, *, rate: float | None, name: str | None, force: bool
) -> tuple[Imported, list[str]]:
    """``import melange``: ``--out`` checked (a usage error before anything is read), the files
    turned into scaleplan's files with the shipped accelerator names, written into ``out``
    (:func:`write_import`); the result and the paths written."""
    from scaleplan.catalog.files import load_catalog
    from scaleplan.outputs import check_out_path

    check_out_path(out)
    base = load_catalog(providers=())  # accelerator names only
    res = import_files(paths, base, rate=rate, name=name)
    return res, write_import(res, out, force=force)


def import_summary(res: Imported, written: list[str]) -> dict[str, object]:
    """``import melange --json``: the files written, the classes, GPU types and notes."""
    return {
        "files": written,
        "classes": len(res.spec.traffic.classes),
        "gpus": len(res.catalog.instances),
        "notes": list(res.notes),
    }


def import_lines(res: Imported, written: list[str], out: str) -> list[str]:
    """``import melange``: the notes, the files written and the command to run next."""
    from pathlib import Path

    lines = [f"note: {n}" for n in res.notes] + [f"wrote {w}" for w in written]
    return [*lines, f"next: scaleplan optimize {Path(out) / 'spec.yaml'}"]


def import_report(res: Imported, written: list[str], out: str, as_json: bool) -> Report:
    """``import melange``: its ``--json`` summary, or :func:`import_lines`."""
    if as_json:
        return Report(doc=import_summary(res, written))
    return Report(lines=import_lines(res, written, out))
