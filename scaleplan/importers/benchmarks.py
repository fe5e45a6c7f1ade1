"""Import LLM serving benchmark results as profile points.

Formats (real examples in ``tests/data/profile_formats/``):

- **vLLM** ``benchmark_serving.py --save-result`` (old) and ``vllm bench serve --save-result``
  / ``vllm bench sweep serve`` (v0.25+): one run per file, with ``{mean,median,std,p99}`` for
  TTFT, TPOT, ITL and (newer) end-to-end latency ``e2el``.
- **AIPerf** ``profile_export_aiperf.json`` and **GenAI-Perf** ``profile_export_genai_perf.json``:
  metric objects ``{unit, avg, p50, p90, p95, p99, ...}``.

One file is one point; several files (a concurrency or rate sweep) are several points.
``batch_size`` is the run's max concurrency when it had one, else the mean number of requests in
flight (Little's law: throughput x mean latency). Where a file lacks p90/p95, they are
interpolated between the median and p99 on a normal tail (``p50 + (p99 - p50) x z_p / z_99``)
and the profile says so in its notes. A run with no completed request is "no measurement",
never a zero-latency point.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scaleplan.errors import InputError, Problem, ProfileError, option_error
from scaleplan.importers.kinds import refuse_scaleplan_file
from scaleplan.profile.model import Measurement, Percentiles, Profile
from scaleplan.profile.stats import percentile, round_sig

if TYPE_CHECKING:
    from scaleplan.catalog.model import Catalog

Z = {90: 1.2815515655446004, 95: 1.6448536269514722, 99: 2.3263478740408408}
FORMATS = ("auto", "vllm", "aiperf", "genai-perf", "melange", "aibrix")


def _load_json(path: str) -> Any:
    from scaleplan.yamlio import read_text

    text = read_text(path, what="benchmark result", max_bytes=256 * 1024 * 1024)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        refuse_scaleplan_file(path, text)
        raise InputError(path, [Problem("", f"not valid JSON: {exc.msg}",
            hint="pass the result JSON the benchmark wrote", line=exc.lineno)]) from None


def detect(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    if "gpu_info" in data:
        return "melange"
    if "tputs" in data and "indexes" in data:
        return "aibrix"
    if "aiperf_version" in data:
        return "aiperf"
    if isinstance(data.get("request_latency"), dict) and "unit" in data["request_latency"]:
        return "genai-perf"
    if "request_throughput" in data and ("median_ttft_ms" in data or "mean_ttft_ms" in data):
        return "vllm"
    if "model_id" in data and "num_prompts" in data:
        # every vLLM generation writes both: a result that lacks a field it needs is still
        # vLLM's, and vllm_point names the field (it was "not a recognised benchmark result")
        return "vllm"
    return None


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)) and math.isfinite(float(v)):
        return float(v)
    if isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def _field(d: dict[str, Any], key: str, file: str, *, where: str | None = None,
        inf: bool = False) -> float | None:
    """The number at ``key`` (None when absent or null); a value that is no finite, non-negative
    number is refused, naming the file and the field (exit 3): it was dropped without a word,
    leaving a point without its mean TTFT or its tail. ``inf``: an infinite value is one
    (vLLM's ``request_rate`` "inf")."""
    v = d.get(key)
    if v is None:
        return None
    f: float | None = None
    if not isinstance(v, bool) and isinstance(v, (int, float, str)):
        try:
            f = float(v)
        except ValueError:
            f = None
    if f is None:
        why = f"{v!r} is not a number"
    elif inf and f == math.inf:
        return f
    elif not math.isfinite(f):
        why = f"{v} is not a finite number"
    elif f < 0:
        why = f"{v!r} is negative"
    else:
        return f
    hint = "the benchmark writes a count, a rate or milliseconds here: import its file unedited"
    raise InputError(file, [Problem(where or key, why, hint=hint)])


def _pcts(p50: float, p99: float, mean: float | None, p90: float | None = None,
        p95: float | None = None) -> tuple[Percentiles, bool]:
    """Percentiles, interpolating missing p90/p95 between p50 and p99; True if interpolated."""
    p99 = max(p99, p50)
    interp = p90 is None or p95 is None
    if p90 is None:
        p90 = p50 + (p99 - p50) * Z[90] / Z[99]
    if p95 is None:
        p95 = p50 + (p99 - p50) * Z[95] / Z[99]
    p90 = min(max(p90, p50), p99)
    p95 = min(max(p95, p90), p99)
    return Percentiles(p50=round_sig(p50), p90=round_sig(p90), p95=round_sig(p95),
        p99=round_sig(p99), mean=round_sig(mean) if mean is not None else None), interp


def _from_samples(values_ms: list[float]) -> Percentiles:
    xs = sorted(values_ms)
    return Percentiles(p50=round_sig(percentile(xs, 50)), p90=round_sig(percentile(xs, 90)),
        p95=round_sig(percentile(xs, 95)), p99=round_sig(percentile(xs, 99)),
        mean=round_sig(sum(xs) / len(xs)))


def _vllm_metric(d: dict[str, Any], metric: str, file: str) -> tuple[Percentiles, bool] | None:
    from pydantic import ValidationError

    med, p99, mean, p90, p95 = (_field(d, f"{s}_{metric}_ms", file)
        for s in ("median", "p99", "mean", "p90", "p95"))
    if med is None or p99 is None:
        return None
    try:
        return _pcts(med, p99, mean, p90, p95)
    except ValidationError as exc:
        raise _out_of_range(file, exc, prefix=f"{metric}_ms ") from None


def _imported(
    *,
    accelerator: str,
    gpus: int,
    lat: Percentiles,
    thr: float,
    conc: int | None,
    error_rate: float | None,
    ttft_ms: Percentiles | None,
    tpot_ms: Percentiles | None,
    samples: int | None,
    offered_rps: float | None = None,
    tokens: tuple[int, int] | None = None,
) -> Measurement:
    """One imported run as a point: batch_size is the run's concurrency, else the mean number of
    requests in flight (Little's law: throughput x mean latency); ``tokens``: the run's mean
    prompt and completion lengths, which an LLM calibration evaluates the model at."""
    mean_lat = lat.mean if lat.mean is not None else lat.p50
    return Measurement(
        device="imported",
        accelerator=accelerator,
        batch_size=conc if conc is not None else max(1, round(thr * mean_lat / 1000.0)),
        latency_ms=lat,
        throughput_rps=round_sig(thr),
        source="imported",
        gpus=gpus,
        concurrency=conc,
        offered_rps=offered_rps,
        error_rate=error_rate,
        ttft_ms=ttft_ms,
        tpot_ms=tpot_ms,
        samples=samples,
        input_tokens=tokens[0] if tokens else None,
        output_tokens=tokens[1] if tokens else None,
    )


def _mean_tokens(
    total_in: float | None, total_out: float | None, n: float | None
) -> tuple[int, int] | None:
    """Mean prompt and completion tokens per request (whole tokens, at least 1), or None when
    the file does not give both."""
    if not total_in or not total_out or not n or n <= 0:
        return None
    return max(1, round(total_in / n)), max(1, round(total_out / n))


def _vllm_tokens(d: dict[str, Any], completed: int, file: str) -> tuple[int, int] | None:
    """A vLLM result's mean lengths: its per-request arrays, else its totals over the completed."""
    ins, outs = d.get("input_lens"), d.get("output_lens")
    if isinstance(ins, list) and isinstance(outs, list) and ins and len(ins) == len(outs):
        # finite numbers only (json reads NaN and Infinity), completed requests only (o > 0)
        both = [(_num(i), _num(o)) for i, o in zip(ins, outs, strict=True)]
        pairs = [(i, o) for i, o in both if i is not None and o is not None and o > 0]
        if pairs:
            return _mean_tokens(sum(i for i, _ in pairs), sum(o for _, o in pairs), len(pairs))
    total_in, total_out = _field(d, "total_input_tokens", file), _field(d, "total_output_tokens", file)
    return _mean_tokens(total_in, total_out, completed)


def _vllm_counts(d: dict[str, Any], file: str) -> tuple[int, int, float] | None:
    """(completed, failed, request_throughput); None when no request completed (every request
    failed: no measurement). A missing count or throughput is named: it said "every request
    failed" of a run that had completed its requests."""
    completed, thr = _field(d, "completed", file), _field(d, "request_throughput", file)
    failed = int(_field(d, "failed", file) or 0)
    hint = "import the JSON that `vllm bench serve --save-result` wrote, unedited"
    if completed is None:
        raise InputError(file, [Problem("completed", "missing: a vLLM result counts the requests that completed", hint=hint)])
    if completed < 1:
        return None
    if not thr:
        why = "missing" if thr is None else f"0 although {completed:g} requests completed"
        raise InputError(file, [Problem("request_throughput", why, hint=hint)])
    return int(completed), failed, thr


def vllm_point(d: dict[str, Any], *, file: str, accelerator: str, gpus: int, notes: list[str]) -> Measurement | None:
    counts = _vllm_counts(d, file)
    if counts is None:
        return None
    completed, failed, thr = counts
    ttft = _vllm_metric(d, "ttft", file)
    tpot = _vllm_metric(d, "tpot", file)
    interp = False
    lat: Percentiles | None = None
    ttfts, itls, outs = d.get("ttfts"), d.get("itls"), d.get("output_lens")
    errors = d.get("errors")
    if isinstance(ttfts, list) and isinstance(itls, list) and len(ttfts) == len(itls) and ttfts:
        # per-request arrays (old benchmark_serving): exact end-to-end latency per request
        e2e: list[float] = []
        for i, (t, il) in enumerate(zip(ttfts, itls, strict=True)):
            ok = not (isinstance(errors, list) and i < len(errors) and errors[i])
            if ok and isinstance(t, (int, float)) and isinstance(il, list) and t > 0:
                e2e.append((float(t) + sum(float(x) for x in il)) * 1000.0)
        if e2e:
            lat = _from_samples(e2e)
            sample_ttft = [float(t) * 1000.0 for t in ttfts if isinstance(t, (int, float)) and t > 0]
            if sample_ttft:
                ttft = (_from_samples(sample_ttft), False)
            if isinstance(outs, list):
                tp = [sum(float(x) for x in il) * 1000.0 / (int(n) - 1) for il, n in zip(itls, outs, strict=False) if isinstance(il, list) and isinstance(n, int) and n > 1]
                if tp:
                    tpot = (_from_samples(tp), False)
    if lat is None:
        e2el = _vllm_metric(d, "e2el", file)
        if e2el is not None:
            lat, interp = e2el
        elif ttft is not None and tpot is not None:
            # no end-to-end figure: TTFT + TPOT x (mean output tokens - 1), per percentile (conservative)
            out_tokens = (_field(d, "total_output_tokens", file) or 0.0) / completed
            k = max(out_tokens - 1.0, 0.0)
            t, tq = ttft[0], tpot[0]
            lat = Percentiles(
                p50=round_sig(t.p50 + k * tq.p50),
                p90=round_sig(t.p90 + k * tq.p90),
                p95=round_sig(t.p95 + k * tq.p95),
                p99=round_sig(t.p99 + k * tq.p99),
                mean=round_sig(t.mean + k * tq.mean) if t.mean is not None and tq.mean is not None else None,
            )
            interp = True
            notes.append(f"{Path(file).name}: no end-to-end latency in the file; latency = TTFT + TPOT x {k:.4g} (mean output tokens - 1)")
        else:
            raise ProfileError(file, message=f"{file}: a vLLM result without TTFT/TPOT or e2el percentiles", hint="save the result with --save-result (and --percentile-metrics ttft,tpot,e2el)")
    if ttft is not None and ttft[1]:
        interp = True
    if tpot is not None and tpot[1]:
        interp = True
    if interp:
        notes.append(f"{Path(file).name}: p90/p95 interpolated between the median and p99 (the file has neither)")
    mc = _field(d, "max_concurrency", file)
    rate = _field(d, "request_rate", file, inf=True)
    rate = rate if rate is not None and math.isfinite(rate) else None
    conc = int(mc) if mc and mc >= 1 else None
    return _imported(
        accelerator=accelerator,
        gpus=gpus,
        lat=lat,
        thr=thr,
        conc=conc,
        offered_rps=rate if rate and rate > 0 else None,
        error_rate=round_sig(failed / (completed + failed), 4) if "failed" in d else None,
        ttft_ms=ttft[0] if ttft else None,
        tpot_ms=tpot[0] if tpot else None,
        samples=completed,
        tokens=_vllm_tokens(d, completed, file),
    )


_UNITS_MS = {"ms": 1.0, "s": 1000.0, "sec": 1000.0, "us": 0.001, "ns": 1e-6}


def _aiperf_metric(d: dict[str, Any], name: str, file: str) -> Percentiles | None:
    m = d.get(name)
    if not isinstance(m, dict):
        return None
    unit = str(m.get("unit", "ms"))
    f = _UNITS_MS.get(unit.lower())
    if f is None:  # it said "every request failed"
        raise InputError(file, [Problem(f"{name}.unit", f"unknown unit {unit!r}", hint=f"a time in {', '.join(_UNITS_MS)}")])
    ms: dict[str, float | None] = {}
    for k in ("p50", "p90", "p95", "p99", "avg"):
        v = _field(m, k, file, where=f"{name}.{k}")
        ms[k] = None if v is None else v * f
    p50, p99 = ms["p50"], ms["p99"]
    if p50 is None or p99 is None:
        return None
    from pydantic import ValidationError

    try:
        p, _ = _pcts(p50, p99, ms["avg"], ms["p90"], ms["p95"])
    except ValidationError as exc:
        raise _out_of_range(file, exc, prefix=f"{name} ") from None
    return p


def _aiperf_avg(d: dict[str, Any], name: str, file: str) -> float | None:
    m = d.get(name)
    return _field(m, "avg", file, where=f"{name}.avg") if isinstance(m, dict) else None


def _aiperf_missing(d: dict[str, Any], missing: list[str], file: str) -> InputError:
    """The metrics an export lacks, named with its schema: an export of another layout (its
    metrics not top-level objects) said "every request failed"."""
    sv, av = d.get("schema_version"), d.get("aiperf_version")
    this = f"this export (schema_version {sv}, aiperf {av})" if sv or av else "this export"
    why = f"missing: {this} has no top-level metric object of that name"
    hint = "import profile_export_aiperf.json of AIPerf (schema_version 1.x) or profile_export_genai_perf.json of GenAI-Perf, whose metrics are top-level {unit, avg, p50, ...} objects"
    return InputError(file, [Problem(", ".join(missing), why, hint=hint)])


def _aiperf_concurrency(d: dict[str, Any]) -> int | None:
    cfg = d.get("input_config")
    if isinstance(cfg, dict):
        for ph in cfg.get("phases") or []:
            if isinstance(ph, dict) and ph.get("name") == "profiling" and isinstance(ph.get("concurrency"), int):
                return int(ph["concurrency"])
        lg = cfg.get("loadgen")
        if isinstance(lg, dict) and isinstance(lg.get("concurrency"), int):
            return int(lg["concurrency"])
        perf = cfg.get("perf_analyzer")
        if isinstance(perf, dict) and isinstance(perf.get("stimulus"), dict) and isinstance(perf["stimulus"].get("concurrency"), int):
            return int(perf["stimulus"]["concurrency"])
        if isinstance(cfg.get("concurrency"), int):
            return int(cfg["concurrency"])
    return None


def aiperf_point(d: dict[str, Any], *, file: str, accelerator: str, gpus: int, notes: list[str]) -> Measurement | None:
    thr = _aiperf_avg(d, "request_throughput", file)
    lat = _aiperf_metric(d, "request_latency", file)
    count = _aiperf_avg(d, "request_count", file)
    errs = 0
    for i, e in enumerate(d.get("error_summary") or []):
        if isinstance(e, dict):
            errs += int(_field(e, "count", file, where=f"error_summary[{i}].count") or 0)
    if (not count and errs > 0) or count == 0 or thr == 0:
        return None  # no request completed: no measurement
    missing = [k for k, v in (("request_throughput", thr), ("request_latency", lat)) if v is None]
    if missing or thr is None or lat is None:
        raise _aiperf_missing(d, missing, file)
    conc = _aiperf_concurrency(d)
    total = (count or 0) + errs
    return _imported(
        accelerator=accelerator,
        gpus=gpus,
        lat=lat,
        thr=thr,
        conc=conc,
        error_rate=round_sig(errs / total, 4) if total > 0 else None,
        ttft_ms=_aiperf_metric(d, "time_to_first_token", file),
        tpot_ms=_aiperf_metric(d, "inter_token_latency", file),
        samples=int(count) if count and count >= 1 else None,
        tokens=_aiperf_tokens(d, file),
    )


def _aiperf_tokens(d: dict[str, Any], file: str) -> tuple[int, int] | None:
    """An AIPerf / GenAI-Perf export's mean input and output sequence lengths (a value that is
    no number is named, as :func:`_field` does)."""
    ins, outs = d.get("input_sequence_length"), d.get("output_sequence_length")
    if not (isinstance(ins, dict) and isinstance(outs, dict)):
        return None
    return _mean_tokens(_aiperf_avg(d, "input_sequence_length", file), _aiperf_avg(d, "output_sequence_length", file), 1.0)


def _model_name(d: dict[str, Any], fmt: str) -> str | None:
    if fmt == "vllm":
        v = d.get("model_id")
        return str(v) if v else None
    cfg = d.get("input_config")
    if isinstance(cfg, dict):
        models = cfg.get("models")
        if isinstance(models, dict):
            for it in models.get("items") or []:
                if isinstance(it, dict) and it.get("name"):
                    return str(it["name"])
        if isinstance(models, list) and models:
            return str(models[0])
        if cfg.get("model"):
            return str(cfg["model"])
    return None


def _melange(files: list[str], fmt: str, accelerator: str | None, gpus: int, name: str | None, dtype: str | None, kv_cache_dtype: str | None) -> tuple[Profile, list[str]]:
    """Mélange / AIBrix tables name their GPUs and hold per-bucket rates: the profile part of
    ``scaleplan import melange``; ``--dtype`` / ``--kv-cache-dtype`` recorded as for the other
    formats (they were dropped without a word)."""
    from scaleplan.catalog.files import accelerator_catalog
    from scaleplan.importers.melange import import_profile

    prof, warnings = import_profile(files, accelerator_catalog(), name=name)
    if dtype or kv_cache_dtype:
        said = {"dtype": dtype, "kv_cache_dtype": kv_cache_dtype}
        points = [m.model_copy(update=said) for m in prof.measurements]
        meta = prof.metadata.model_copy(update={"dtype": dtype})
        prof = prof.model_copy(update={"metadata": meta, "measurements": tuple(points)})
    if accelerator is not None or gpus != 1:
        warnings.append(f"--accelerator/--gpus ignored: {fmt} files name their GPUs (one GPU per replica)")
    return prof, warnings


def _point(kind: str, data: dict[str, Any], *, file: str, accelerator: str, gpus: int, notes: list[str]) -> Measurement | None:
    """The file's point; a value no run measures (a throughput of 1e308, a concurrency of 1e18)
    is bad input naming the file and the point's field, not an internal error (exit 70)."""
    from pydantic import ValidationError

    read = vllm_point if kind == "vllm" else aiperf_point
    try:
        return read(data, file=file, accelerator=accelerator, gpus=gpus, notes=notes)
    except ValidationError as exc:
        raise _out_of_range(file, exc) from None


def _out_of_range(file: str, exc: Any, prefix: str = "") -> InputError:
    """A pydantic ValidationError of a point's values as bad input, each value named (with
    ``prefix``: the metric whose percentiles they are)."""
    problems = [
        Problem(prefix + ".".join(str(x) for x in e["loc"]), f"{e.get('input')!r} is out of range for the point ({e['msg']})", hint="check the result file's values: no run measures that")
        for e in exc.errors()
    ]
    return InputError(file, problems)


def _spans_nodes(accelerator: str, gpus: int) -> list[str]:
    """A warning when no catalog instance holds ``gpus`` of the accelerator: a multi-node run,
    which the LLM model sizes as one node (``profile llm`` leaves such a --gpus out)."""
    if gpus == 1:
        return []
    from scaleplan.catalog.files import load_catalog

    most = load_catalog().node_gpus().get(accelerator, 0)
    if not most or gpus <= most:
        return []
    return [f"--gpus {gpus}: no instance in the catalogs holds {gpus} {accelerator} (at most {most}): a replica across nodes, which the LLM model does not model (its calibration sizes these points as one node)"]


def _one_model(named: list[tuple[str, str]], name: str | None) -> list[str]:
    """Results of different models (as the files name them, ignoring case) are no one profile:
    its points calibrate one model. Exit 3 naming each file's model; with ``--name`` (one
    model served under several names) a warning. They were merged under the first name."""
    from scaleplan.profile.merge import same_model

    if same_model(m for _, m in named):
        return []
    which = "; ".join(f"{Path(f).name}: {m}" for f, m in named)
    said = f"the files measured different models ({which})"
    if name is not None:
        return [f"{said}; imported as {name!r} (--name)"]
    hint = "import each model's runs into its own profile (a profile calibrates one model), or pass --name NAME if they are one model served under different names"
    raise InputError(", ".join(f for f, _ in named), [Problem("", said, hint=hint)])


def _accelerator_table(accelerator: str, catalogs: Sequence[str]) -> Catalog:
    """The accelerator table (with ``--catalog`` files' ``accelerators:``) that knows
    ``accelerator``; exit 2 with the hint the other --accelerator options give (close names of
    the same series only, how to add another part; it suggested 'B300' for 'MI300X')."""
    from scaleplan.catalog.files import accelerator_catalog, load_catalog
    from scaleplan.names import unknown_accelerator_hint
    from scaleplan.option_values import split_values

    if catalogs:
        known = load_catalog(split_values(list(catalogs)), providers=())
    else:
        known = accelerator_catalog()
    if known.resolve(accelerator) is None:
        names = known.accelerator_names()
        hint = unknown_accelerator_hint(accelerator, names, ", and give that file with --catalog")
        said = f"unknown accelerator {accelerator!r}"
        raise option_error([Problem("--accelerator", said, hint=hint)])
    return known


def _dtype_not_run(known: Catalog, accelerator: str, dtype: str | None) -> list[str]:
    """A warning when ``--dtype`` is a precision the LLM model does not run on the part (fp8 on
    an A100): taken as measured (vLLM serves FP8 checkpoints weight-only on Ampere), but no LLM
    plan is made in it there, so the points calibrate none (UX trial 23 F11; `profile llm
    --dtype fp8 -a A100` is refused)."""
    from scaleplan.llm.hardware import UnsupportedDtype, hardware

    a = known.accelerator(accelerator)
    hw = hardware(a) if dtype and a is not None else None
    if hw is None or dtype is None:
        return []
    try:
        hw.compute_peak_tflops(dtype)
    except UnsupportedDtype as exc:
        return [
            f"--dtype {dtype} on {a.name if a else accelerator}: {exc}; scaleplan plans no "
            f"{dtype} LLM on it, so an LLM calibration will leave these points out (a spec "
            "without model.architecture still plans on them as measured)"
        ]
    return []


def import_files(files: list[str], *, fmt: str = "auto", accelerator: str | None, gpus: int = 1, name: str | None = None, dtype: str | None = None, kv_cache_dtype: str | None = None, catalogs: Sequence[str] = ()) -> tuple[Profile, list[str]]:
    """Profile from benchmark result files; warnings for skipped runs. ``dtype``: the precision
    the benchmark served (``--dtype``), recorded as ``metadata.dtype`` and on each point;
    ``kv_cache_dtype`` (``--kv-cache-dtype``) on each point (an LLM calibration leaves out
    points of another precision than the plan's). ``catalogs`` (``--catalog``): files whose
    ``accelerators:`` add to the table ``accelerator`` is looked up in."""
    from typing import get_args

    from scaleplan.option_values import choice
    from scaleplan.profile.build import make_profile
    from scaleplan.profile.devices import normalize_accelerator
    from scaleplan.spec import KvCacheDtype, LlmDtype

    dtype = choice(dtype, get_args(LlmDtype), "--dtype")
    kv_cache_dtype = choice(kv_cache_dtype, get_args(KvCacheDtype), "--kv-cache-dtype")
    if fmt not in FORMATS:
        raise option_error([Problem("--format", f"unknown format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")])
    if not files:
        raise option_error([Problem("FILES", "no file given", hint="pass the benchmark's result JSON file(s)")])
    loaded: dict[str, Any] = {}
    if fmt == "auto":
        loaded[files[0]] = _load_json(files[0])
        first = detect(loaded[files[0]])
        fmt = first if first in ("melange", "aibrix") else fmt
    if fmt in ("melange", "aibrix"):
        return _melange(files, fmt, accelerator, gpus, name, dtype, kv_cache_dtype)
    if accelerator is None:
        # the option the file's content asks for: exit 3, naming the file(s) (docs/cli.md)
        said = "the result file does not" if len(files) == 1 else "the result files do not"
        raise InputError(", ".join(files), [Problem("--accelerator", f"{said} say which accelerator served the benchmark", hint="pass --accelerator, e.g. --accelerator H100 (and --gpus for tensor parallel)")])
    acc = normalize_accelerator(accelerator)
    known = _accelerator_table(accelerator, catalogs)
    warnings: list[str] = _spans_nodes(acc, gpus) + _dtype_not_run(known, accelerator, dtype)
    notes: list[str] = []
    points: list[Measurement] = []
    models: list[str] = []
    named: list[tuple[str, str]] = []  # (file, the model it measured)
    kinds: set[str] = set()
    for f in files:
        data = loaded.pop(f) if f in loaded else _load_json(f)
        kind = detect(data) if fmt == "auto" else fmt
        if kind in ("melange", "aibrix"):
            raise InputError(f, [Problem("", f"a {kind} file among benchmark results", hint="import Mélange/AIBrix files on their own")])
        if kind is None or not isinstance(data, dict):
            raise InputError(f, [Problem("", "not a recognised benchmark result (vLLM, AIPerf or GenAI-Perf JSON)", hint="pass --format, or check the file")])
        if (kind in ("aiperf", "genai-perf") and detect(data) == "vllm") or (kind == "vllm" and detect(data) in ("aiperf", "genai-perf")):
            raise InputError(f, [Problem("", f"this looks like {'an' if str(detect(data))[0] in 'aeiou' else 'a'} {detect(data)} file, not {kind}", hint=f"use --format {detect(data)} or --format auto")])
        kinds.add(kind)
        m = _point(kind, data, file=f, accelerator=acc, gpus=gpus, notes=notes)
        if m is None:
            warnings.append(f"{f}: no completed request (every request failed); no point imported")
            continue
        if dtype or kv_cache_dtype:  # per point: a merge with runs of another precision keeps it
            m = m.model_copy(update={"dtype": dtype, "kv_cache_dtype": kv_cache_dtype})
        points.append(m)
        mn = _model_name(data, kind)
        if mn:
            models.append(mn)
            named.append((f, mn))
    if not points:
        where = "" if len(files) == 1 else f"in any of the {len(files)} files"
        problem = Problem("", f"no successful run{where and ' ' + where}: every request failed", hint="import result files of runs that completed requests")
        raise ProfileError(", ".join(files), [problem])
    warnings += _one_model(named, name)
    model = name or (models[0] if models else Path(files[0]).stem)
    return (
        make_profile(
            model=model,
            measurements=points,
            target=None,
            kind="imported",
            dtype=dtype,
            notes=sorted(set(notes)),
            imported_from=", ".join(f"{Path(f).name}" for f in files) + f" ({', '.join(sorted(kinds))})",
        ),
        warnings,
    )
