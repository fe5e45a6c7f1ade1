"""GPU-to-GPU estimates against published results: accuracy and band coverage, train / held out.

    python bench/estimate_validation.py [--fit]

The validation set (tests/data/estimate_validation/, every row with its source) is MLPerf
Inference Offline throughput of NVIDIA's single-GPU submissions. For every ordered pair of
accelerators in the same round and benchmark, the source's published point goes through
``scaleplan profile estimate``'s code (``estimate_profile``, the shipped accelerator table plus
specs.csv for parts it lacks) and the estimate is compared with the target's published value:

- error: estimated / published throughput - 1 (target: within +-25 % for 80 % of pairs);
- band: whether the published latency lies inside the estimate's stated band (target: 90 %).

A fixed third of the pairs is held out (sha1 of the pair id mod 3 == 0); ``--fit`` prints,
from the training pairs only, the per-generation efficiency factors (geometric mean of the
published / peak ratio, relative to Ampere) and the latency-ratio quantiles that set the bands.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import math
import statistics
from collections import defaultdict
from pathlib import Path

from scaleplan.catalog.files import load_accelerators
from scaleplan.catalog.model import Accelerator, Catalog
from scaleplan.catalog.peaks import own_peak as _own_peak
from scaleplan.profile.estimate import estimate_profile, generation_efficiency
from scaleplan.profile.model import Profile

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "estimate_validation"
BATCH = 64  # nominal batch of the source point (Offline runs large batches; only the split uses it)


def load() -> tuple[list[dict[str, str]], dict[str, dict[str, str]], Catalog]:
    rows = list(csv.DictReader((DATA / "results.csv").open()))
    models = {r["benchmark"]: r for r in csv.DictReader((DATA / "models.csv").open())}
    extra = []
    for r in csv.DictReader((DATA / "specs.csv").open()):
        extra.append(Accelerator(name=r["name"], memory_gib=float(r["memory_gib"]), memory_bandwidth_gbs=float(r["memory_bandwidth_gbs"]), fp16_tflops=float(r["fp16_tflops"]), int8_tops=float(r["int8_tops"]), fp8_tflops=float(r["fp8_tflops"]) if r["fp8_tflops"] else None, generation=r["generation"], interconnect=r["interconnect"], source=r["source"]))  # type: ignore[arg-type]
    return rows, models, Catalog(accelerators=(*load_accelerators(), *extra), rows=())


def pairs(rows: list[dict[str, str]]) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    groups: dict[tuple[str, str], dict[str, dict[str, str]]] = defaultdict(dict)
    for r in rows:
        groups[(r["round"], r["benchmark"])].setdefault(r["accelerator"], r)  # first row per part and round
    out = []
    for (rnd, bench), by_acc in sorted(groups.items()):
        for a in sorted(by_acc):
            for b in sorted(by_acc):
                if a != b:
                    out.append((f"{rnd}/{bench}/{a}->{b}", by_acc[a], by_acc[b]))
    return out


def held_out(pid: str) -> bool:
    return int(hashlib.sha1(pid.encode()).hexdigest(), 16) % 3 == 0


def estimate(src: dict[str, str], dst: dict[str, str], model: dict[str, str], catalog: Catalog) -> tuple[float, float, float, str]:
    thr = float(src["samples_per_s"]) / int(src["gpus"])
    lat = BATCH / thr * 1000.0
    prof = Profile.model_validate({
        "metadata": {"model": src["benchmark"], "dtype": src["precision"], "flops_per_sample": float(model["flops_per_sample"]), "weights_gib": float(model["weight_bytes"]) / 2**30},
        "measurements": [{"device": "published", "accelerator": src["accelerator"], "batch_size": BATCH, "latency_ms": {"p50": lat, "p90": lat, "p95": lat, "p99": lat}, "throughput_rps": thr, "source": "imported"}],
    })
    res = estimate_profile(prof, [dst["accelerator"]], catalog)
    m = next(m for m in res.profile.measurements if m.source == "estimated")
    assert m.estimate is not None
    return m.throughput_rps, m.estimate.low, m.estimate.high, m.estimate.bound


def fit(train: list[tuple[str, dict[str, str], dict[str, str]]], rows: list[dict[str, str]], catalog: Catalog) -> None:
    """Per generation: geometric mean over training rows of (published / peak), relative to the
    Ampere rows of the same round and benchmark."""
    train_rows = {(r["round"], r["benchmark"], r["accelerator"]) for _, a, b in train for r in (a, b)}
    per: dict[tuple[str, str], list[float]] = defaultdict(list)
    gen_of: dict[str, str] = {}
    for r in rows:
        if (r["round"], r["benchmark"], r["accelerator"]) not in train_rows:
            continue
        acc = catalog.accelerator(r["accelerator"])
        assert acc is not None
        pk, _ = _own_peak(acc, r["precision"])
        _, gen, _ = generation_efficiency(acc)
        assert pk is not None and gen is not None
        gen_of[r["accelerator"]] = gen
        per[(r["round"], r["benchmark"])].append(math.log(float(r["samples_per_s"]) / pk))
    logs: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        key = (r["round"], r["benchmark"])
        acc = catalog.accelerator(r["accelerator"])
        if (r["round"], r["benchmark"], r["accelerator"]) not in train_rows or acc is None:
            continue
        amp = [math.log(float(x["samples_per_s"]) / (_own_peak(catalog.accelerator(x["accelerator"]), x["precision"])[0] or 1)) for x in rows if (x["round"], x["benchmark"]) == key and gen_of.get(x["accelerator"]) == "ampere" and (x["round"], x["benchmark"], x["accelerator"]) in train_rows]  # type: ignore[arg-type]
        if not amp:
            continue
        pk, _ = _own_peak(acc, r["precision"])
        logs[gen_of[r["accelerator"]]].append(math.log(float(r["samples_per_s"]) / (pk or 1)) - statistics.fmean(amp))
    for gen, xs in sorted(logs.items()):
        print(f"fit: {gen}: efficiency {math.exp(statistics.fmean(xs)):.3f} relative to Ampere ({len(xs)} training rows)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fit", action="store_true")
    args = ap.parse_args()
    rows, models, catalog = load()
    ps = pairs(rows)
    train = [p for p in ps if not held_out(p[0])]
    test = [p for p in ps if held_out(p[0])]
    if args.fit:
        fit(train, rows, catalog)
    for name, part in (("training", train), ("held out", test)):
        errs, inside, ratios = [], [], []
        for pid, src, dst in part:
            est, low, high, bound = estimate(src, dst, models[src["benchmark"]], catalog)
            pub = float(dst["samples_per_s"]) / int(dst["gpus"])
            errs.append(est / pub - 1)
            r = est / pub  # published latency / estimated latency
            ratios.append(r)
            inside.append(low <= r <= high)
            if not args.fit:
                print(f"  {name:8} {pid:40} est {est:>9,.0f} pub {pub:>9,.0f} err {est / pub - 1:+6.1%} band {low:g}-{high:g} {'in' if low <= r <= high else 'OUT'} ({bound})")
        within = sum(abs(e) <= 0.25 for e in errs)
        print(f"{name}: {len(part)} pairs; within +-25 %: {within} ({within / len(part):.0%}); published inside the band: {sum(inside)} ({sum(inside) / len(part):.0%}); median |error| {statistics.median(abs(e) for e in errs):.1%}")
        if args.fit:
            qs = sorted(ratios)
            print(f"fit: {name}: published/estimated latency ratio 5th-95th percentile {qs[int(0.05 * (len(qs) - 1))]:.3f}-{qs[math.ceil(0.95 * (len(qs) - 1))]:.3f}, min {qs[0]:.3f}, max {qs[-1]:.3f}")


if __name__ == "__main__":
    main()
