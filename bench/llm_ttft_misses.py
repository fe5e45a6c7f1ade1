#!/usr/bin/env python3
"""Why the LLM model's TTFT misses miss: the training rows' misses grouped, and what the
closed-loop clustering term can and cannot reach.

    python bench/llm_ttft_misses.py [--data ../shared/data/llm]

Reads the rows ``bench/llm_validation.py`` uses, its way (``classify``, ``predict``), and
scores the **training third only** (the held-out rows are never predicted here), architecture
only. Prints (docs/benchmarks.md, issue 15, "Why the TTFT misses miss"):

* the TTFT rows outside +-30 % grouped by mode, engine, model, GPU, TP, prompt length,
  concurrency and client (InferenceX's drawn lengths or the row's fixed ones), each group with
  its rows, those within, under (predicted < 0.7 x measured) and over (> 1.3 x), and its
  median predicted / measured;
* for the closed-loop rows, the arrival-clustering term (``perf.CLUSTERING``) taken apart:
  every row predicted with the clustering weight at 0 and at 1 (TTFT is linear in it; a row
  whose client drew its lengths runs at ``perf.DRAWN_CLUSTERING`` x its engine's weight), so
  that the best single weight per engine and per (engine, client, DeepSeek or not) group can
  be counted without running the model again, and the weight each row would need;
* that wait in physical units, per (client, engine, DeepSeek or not, clients): the lone
  prefills of its own prompt each row's measured TTFT holds beyond the model without
  clustering (``excess_prefills``), against the model's, the sqrt(N) cohort's (sqrt(N) - 1) / 2
  and a whole closed loop served one prompt after another, (N - 1) / 2.

* (``--calibrated JSON``: the per-row output of ``bench/llm_validation.py --json``) the same
  groups for the **calibrated-from-one-other-GPU** TTFT, issue 15's must-show figure, training
  rows only (held-out rows in the file are skipped unread);
* for both: the misses by what else the row says (2026-12-07): whether its TPOT is within
  +-30 % too (a TTFT miss with a right TPOT is the prefill or the wait, one with a TPOT as far
  off is the whole engine step), GPU generation, architecture family (dense / MoE / MLA), the
  row's TTFT statistic, whether the KV cache holds every client (else TTFT includes a wait
  for a slot), and the model's own TTFT taken apart (all-reduce share of the lone prefill,
  clustering wait share of the TTFT) for the misses of each direction.

Nothing is fitted into the model; the script only counts.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import llm_validation as V  # noqa: E402

from scaleplan.llm import perf  # noqa: E402

TOL = V.TOL["ttft"]
WEIGHTS = tuple(w / 4 for w in range(0, 41))  # 0 .. 10 in quarters


def within(pred: float, meas: float) -> bool:
    return abs(pred / meas - 1.0) <= TOL


def group(rows: list[dict], key: Callable[[dict], object], title: str) -> None:
    print(title)
    g: dict[object, list[float]] = defaultdict(list)
    for r in rows:
        g[key(r)].append(r["pred"] / r["meas"])
    for k, v in sorted(g.items(), key=lambda kv: (-len(kv[1]), str(kv[0]))):
        v.sort()
        n = len(v)
        print(
            f"  {k!s:48s} rows {n:4d}  within {sum(abs(x - 1) <= TOL for x in v):4d}  "
            f"under {sum(x < 1 - TOL for x in v):4d}  over {sum(x > 1 + TOL for x in v):4d}  "
            f"median {v[n // 2]:.2f}"
        )


def prompt_band(i: int) -> str:
    return (
        "<=256"
        if i <= 256
        else "257-1,100"
        if i <= 1100
        else "1,101-4,500"
        if i <= 4500
        else ">4,500"
    )


def clients(n: int) -> str:
    return str(n) if n <= 8 else "9-16" if n <= 16 else "17-64" if n <= 64 else ">64"


def best_weight(rows: list[dict]) -> tuple[int, float]:
    """(rows within, weight) of the single clustering weight (quarters, 0-10) that brings most of
    ``rows`` within +-30 %; ties go to the largest weight."""
    return max(
        (sum(within(r["p0"] + w * (r["p1"] - r["p0"]), r["meas"]) for r in rows), w)
        for w in WEIGHTS
    )


def collect(data: Path) -> list[dict]:
    """The training rows with a TTFT, predicted architecture-only (``pred``); closed-loop rows
    also at clustering weight 0 (``p0``) and 1 (``p1``). Held-out rows are never predicted."""
    V.SHAREGPT = V.sharegpt_sample(data.parent)
    V.SERVER_FLAGS.update({r.row_id: V.server_flags(r) for r in V.read_rows(data.parent)})
    with (data / "llm_serving_measurements.csv").open(newline="", encoding="utf-8") as fh:
        raw = list(csv.DictReader(fh))
    V.DUPLICATE_OF.update(V.duplicates(raw))
    rows: list[dict] = []
    weights = dict(perf.CLUSTERING)
    for r in raw:
        c = V.classify(r)
        if isinstance(c, str) or c.test or "ttft" not in c.meas:
            continue  # unusable, held out (never predicted here), or no TTFT
        try:
            pred = V.predict(c).get("ttft")
        except Exception:  # refused by the memory model etc., as the validation leaves it out
            continue
        if pred is None:
            continue
        rec = {
            "c": c,
            "meas": c.meas["ttft"],
            "pred": pred,
            "ix": bool(V.INFERENCEX.search(r["notes"])),
            "source": r["source_id"],
            "stat": statistic(r),
            "tpot": (V.predict(c).get("tpot"), c.meas.get("tpot")),
            **composition(c),
        }
        if c.mode == "online_fixed_concurrency":
            d, mem = V.deployment(c)
            cap = perf.saturation_concurrency(d, mem, c.i, c.o)  # type: ignore[arg-type]
            # the clustering term's unit: cohort_wait lone prefills per unit of weight
            rec["cohort"] = perf.cohort_wait(
                min(c.n, cap), c.i, d.settings.max_num_batched_tokens, c.engine
            )
            rec["held"] = c.n <= cap  # every client runs (no wait for a slot in the cache)
            # the weight a row runs at: its engine's, x DRAWN_CLUSTERING where the client drew
            # each request's lengths; p0 / p1 are at weight 0 / 1 whatever the client
            drawn = perf.DRAWN_CLUSTERING
            rec["weight"] = weights[c.engine] * (drawn if V.drawn_lengths(c) else 1.0)
            try:
                perf.DRAWN_CLUSTERING = 1.0
                for k in perf.CLUSTERING:
                    perf.CLUSTERING[k] = 0.0
                rec["p0"] = V.predict(c)["ttft"]
                for k in perf.CLUSTERING:
                    perf.CLUSTERING[k] = 1.0
                rec["p1"] = V.predict(c)["ttft"]
            finally:
                perf.CLUSTERING.update(weights)
                perf.DRAWN_CLUSTERING = drawn
        rows.append(rec)
    return rows


def statistic(r: dict[str, str]) -> str:
    """The TTFT statistic the bench compares (its order: mean, else median, else unstated)."""
    return next(
        (name for col, name in (("ttft_ms_mean", "mean"), ("ttft_ms_p50", "median"))
         if V.num(r[col])),
        "not stated",
    )


def family(c: V.Case) -> str:
    arch = V.preset(c.preset)
    return "MLA + MoE" if arch.is_mla else "MoE" if arch.is_moe else "dense"


def composition(c: V.Case) -> dict[str, object]:
    """The model's TTFT of the row taken apart: the all-reduce share of its lone prefill's
    first step (the prompt, or its first budget-sized chunk), the GPU's generation, and
    whether the KV cache holds every client (``held``; else TTFT includes a wait for a slot)."""
    d, mem = V.deployment(c)
    chunk = min(c.i, max(d.settings.max_num_batched_tokens, 1))
    st = perf.step_time_ms(d, prefill_tokens=chunk, prefill_pairs=chunk * chunk / 2.0)
    cap = perf.saturation_concurrency(d, mem, c.i, c.o)  # type: ignore[arg-type]
    return {"ar_share": st.allreduce_ms / st.ms, "gen": d.hw.generation, "held": c.n <= cap}


def verdict(pred: float | None, meas: float | None) -> str:
    if not pred or not meas:
        return "no TPOT"
    return "TPOT within" if within(pred, meas) else "TPOT under" if pred < meas else "TPOT over"


def direction(r: dict) -> str:
    if within(r["pred"], r["meas"]):
        return "within"
    return "under" if r["pred"] < r["meas"] else "over"


def what_else(rows: list[dict], title: str) -> None:
    """The misses of ``rows`` by what else the row says (module docstring)."""
    print(f"{title}: TTFT by TPOT verdict, generation, family, statistic, slot wait")
    group(rows, lambda r: (direction(r), verdict(*r["tpot"])), "  TTFT verdict, TPOT verdict")
    group(rows, lambda r: r["gen"], "  by GPU generation")
    group(rows, lambda r: family(r["c"]), "  by architecture family")
    group(rows, lambda r: (r["c"].mode, r["stat"]), "  by mode and TTFT statistic")
    group(rows, lambda r: "every client in the KV cache" if r["held"] else "clients wait for a "
          "slot", "  by KV cache")
    print("  the model's TTFT taken apart, misses with the TPOT within: median shares")
    for way in ("under", "over"):
        ms = [r for r in rows if direction(r) == way and verdict(*r["tpot"]) == "TPOT within"]
        ar = sorted(r["ar_share"] for r in ms)
        cl = sorted(1.0 - r["p0"] / r["pred"] for r in ms if "p0" in r)
        if ar:
            print(f"    TTFT {way:5s} rows {len(ms):4d}  all-reduce share of the lone prefill "
                  f"{ar[len(ar) // 2]:.2f}  clustering share of the TTFT "
                  f"{cl[len(cl) // 2] if cl else 0.0:.2f}")


def calibrated(rows: list[dict], path: Path) -> list[dict]:
    """``rows`` with ``pred`` and ``tpot`` from the calibrated-from-one-other-GPU predictions of
    ``bench/llm_validation.py --json`` (training rows only; rows it did not calibrate leave)."""
    cases = json.loads(path.read_text())["cases"]
    cal = {x["row_id"]: x for x in cases if x["split"] == "train" and "calibrated" in x}
    out = []
    for r in rows:
        x = cal.get(r["c"].row["row_id"])
        if x is None or "ttft" not in x["calibrated"]:
            continue
        pred = x["calibrated"]
        out.append({**r, "pred": pred["ttft"], "tpot": (pred.get("tpot"), r["tpot"][1]),
                    "source_gpu": x["calibrated_from"]})
    return out


def excess_prefills(r: dict) -> float | None:
    """Lone prefills of its own prompt that a closed-loop row's measured TTFT holds beyond the
    model without clustering: (measured - p0) / (one lone prefill), where p1 - p0 is the
    clustering term at weight 1, ``cohort`` lone prefills. None where the term is 0."""
    if r.get("cohort", 0.0) <= 0.0 or r["p1"] - r["p0"] <= 1e-9:
        return None
    return float((r["meas"] - r["p0"]) / (r["p1"] - r["p0"]) * r["cohort"])


def off_linear(rows: list[dict]) -> list[dict]:
    """Closed-loop rows whose prediction at the engine's own weight is not p0 + weight x (p1 -
    p0) within 1 % (TTFT is linear in the weight but for the delayed-batching wait, which
    depends on the cycle): the weight counts below rest on that."""
    return [
        r
        for r in rows
        if "p0" in r
        and abs((r["p0"] + r["weight"] * (r["p1"] - r["p0"])) / r["pred"] - 1.0)
        > 0.01
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "llm")
    ap.add_argument("--calibrated", type=Path, help="bench/llm_validation.py --json output: "
                    "also group the calibrated-from-one-other-GPU TTFT misses (training rows)")
    a = ap.parse_args(argv)
    rows = collect(a.data)
    if a.calibrated:
        cal = calibrated(rows, a.calibrated)
        k = sum(within(r["pred"], r["meas"]) for r in cal)
        print(f"calibrated from one other GPU: training TTFT rows {len(cal)}, within "
              f"+-{TOL:.0%}: {k} ({k / len(cal):.1%})")
        group(cal, lambda r: (r["c"].engine, r["c"].preset, r["c"].dtype),
              "  by engine, model, precision")
        group(cal, lambda r: (r["c"].engine, r["c"].acc, r["source_gpu"]),
              "  by engine, GPU, calibrated from")
        group(cal, lambda r: (r["c"].tp, prompt_band(r["c"].i)), "  by TP and prompt tokens")
        what_else(cal, "calibrated")
    what_else(rows, "architecture only")
    weights = dict(perf.CLUSTERING)
    n_in = sum(within(r["pred"], r["meas"]) for r in rows)
    print(
        f"training TTFT rows {len(rows)}, within +-{TOL:.0%}: {n_in} "
        f"({n_in / len(rows):.1%}), architecture only"
    )
    deepseek = [r for r in rows if r["c"].preset.startswith("deepseek")]
    rest = [r for r in rows if not r["c"].preset.startswith("deepseek")]
    k = sum(within(r["pred"], r["meas"]) for r in rest)
    print(
        f"without DeepSeek-R1/V3 ({len(deepseek)} rows): {k} of {len(rest)} within "
        f"({k / len(rest):.1%})"
    )
    group(rows, lambda r: r["c"].mode, "by mode")
    group(rows, lambda r: r["c"].engine, "by engine")
    group(
        rows, lambda r: (r["c"].engine, r["c"].preset, r["c"].dtype), "by engine, model, precision"
    )
    group(rows, lambda r: r["c"].acc, "by GPU")
    group(rows, lambda r: r["c"].tp, "by TP")
    group(rows, lambda r: prompt_band(r["c"].i), "by prompt tokens")
    group(rows, lambda r: clients(r["c"].n), "by clients (closed loop) / batch")
    group(
        rows,
        lambda r: (r["source"], "InferenceX" if r["ix"] else "fixed lengths"),
        "by source and client",
    )

    closed = [r for r in rows if "p0" in r]
    print(
        f"closed loop ({len(closed)} rows): the clustering weight per engine, now and at its best"
    )
    for eng in sorted({r["c"].engine for r in closed}):
        cs = [r for r in closed if r["c"].engine == eng]
        now = sum(within(r["pred"], r["meas"]) for r in cs)
        k, w = best_weight(cs)
        print(
            f"  {eng:7s} rows {len(cs):4d}  within now (weight {weights[eng]}, drawn lengths x"
            f"{perf.DRAWN_CLUSTERING}) {now:4d}  "
            f"best single weight {w:.2f}: {k}"
        )
    print("  by engine, client, DeepSeek or not: best single weight")
    parts: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for r in closed:
        parts[
            (
                r["c"].engine,
                "InferenceX" if r["ix"] else "fixed lengths",
                "DeepSeek" if r["c"].preset.startswith("deepseek") else "others",
            )
        ].append(r)
    for key in sorted(parts):
        cs = parts[key]
        now = sum(within(r["pred"], r["meas"]) for r in cs)
        k, w = best_weight(cs)
        print(
            f"    {key!s:48s} rows {len(cs):4d}  within now {now:4d}  best weight {w:.2f}: {k}"
        )
    unreachable = [
        r
        for r in closed
        if r["meas"] < (1 - TOL) * r["p0"]
        or (r["p1"] - r["p0"] <= 1e-9 and not within(r["p0"], r["meas"]))
    ]
    print(f"  rows whose TTFT is not linear in the weight within 1 %: {len(off_linear(rows))}")
    print(f"  rows no weight >= 0 brings within +-{TOL:.0%}: {len(unreachable)}")
    print("  the weight each row needs ((measured - p0) / (p1 - p0)), median by engine and clients")
    need: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in closed:
        if r["p1"] - r["p0"] > 1e-9:
            need[(r["c"].engine, clients(r["c"].n))].append(
                (r["meas"] - r["p0"]) / (r["p1"] - r["p0"])
            )
    for key in sorted(need):
        v = sorted(need[key])
        print(
            f"    {key!s:30s} rows {len(v):4d}  median {v[len(v) // 2]:6.2f}  quartiles "
            f"{v[len(v) // 4]:6.2f} .. {v[(3 * len(v)) // 4]:6.2f}"
        )
    print(
        "  the excess in lone prefills (excess_prefills), every client running (the KV cache "
        "holds them): median [quartiles] against the model's and two forms"
    )
    ex: dict[tuple[str, str, str, int], list[tuple[float, float]]] = defaultdict(list)
    for r in closed:
        e = excess_prefills(r)
        if e is not None and r["held"]:
            key = (
                "InferenceX" if r["ix"] else "fixed lengths",
                r["c"].engine,
                "DeepSeek" if r["c"].preset.startswith("deepseek") else "others",
                r["c"].n,
            )
            ex[key].append((e, r["weight"] * r["cohort"]))
    for key in sorted(ex):
        es = sorted(e for e, _ in ex[key])
        now = sorted(m for _, m in ex[key])
        n, k = len(es), key[3]
        if n < 3:
            continue
        print(
            f"    {key!s:48s} rows {n:4d}  excess {es[n // 2]:6.2f} [{es[n // 4]:6.2f} .. "
            f"{es[(3 * n) // 4]:6.2f}]  model {now[n // 2]:5.2f}  (sqrt(N)-1)/2 "
            f"{(k**0.5 - 1) / 2:5.2f}  (N-1)/2 {(k - 1) / 2:6.1f}"
        )
    # DeepSeek at few clients: the measured TTFT against the model with no clustering at all
    few = [
        r
        for r in closed
        if r["c"].preset.startswith("deepseek") and r["c"].n <= 8 and r["c"].i < 1100
    ]
    if few:
        ratios = sorted(r["meas"] / r["p0"] for r in few)
        print(
            f"  DeepSeek, prompts under 1,100 tokens, at most 8 clients ({len(few)} rows): "
            f"measured / predicted without clustering median {ratios[len(ratios) // 2]:.2f} "
            f"(range {ratios[0]:.2f} .. {ratios[-1]:.2f}); "
            f"measured {min(r['meas'] for r in few):.0f} .. {max(r['meas'] for r in few):.0f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
