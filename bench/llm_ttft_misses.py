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
  every row predicted with the clustering weight at 0 and at 1 (TTFT is linear in it), so
  that the best single weight per engine and per (engine, client, DeepSeek or not) group can
  be counted without running the model again, and the weight each row would need;
* that wait in physical units, per (client, engine, DeepSeek or not, clients): the lone
  prefills of its own prompt each row's measured TTFT holds beyond the model without
  clustering (``excess_prefills``), against the model's, the sqrt(N) cohort's (sqrt(N) - 1) / 2
  and a whole closed loop served one prompt after another, (N - 1) / 2.

Nothing is fitted into the model; the script only counts.
"""

from __future__ import annotations

import argparse
import csv
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
        }
        if c.mode == "online_fixed_concurrency":
            d, mem = V.deployment(c)
            cap = perf.saturation_concurrency(d, mem, c.i, c.o)  # type: ignore[arg-type]
            # the clustering term's unit: cohort_wait lone prefills per unit of weight
            rec["cohort"] = perf.cohort_wait(
                min(c.n, cap), c.i, d.settings.max_num_batched_tokens, c.engine
            )
            rec["held"] = c.n <= cap  # every client runs (no wait for a slot in the cache)
            try:
                for k in perf.CLUSTERING:
                    perf.CLUSTERING[k] = 0.0
                rec["p0"] = V.predict(c)["ttft"]
                for k in perf.CLUSTERING:
                    perf.CLUSTERING[k] = 1.0
                rec["p1"] = V.predict(c)["ttft"]
            finally:
                perf.CLUSTERING.update(weights)
        rows.append(rec)
    return rows


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
        and abs((r["p0"] + perf.CLUSTERING[r["c"].engine] * (r["p1"] - r["p0"])) / r["pred"] - 1.0)
        > 0.01
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "llm")
    a = ap.parse_args(argv)
    rows = collect(a.data)
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
            f"  {eng:7s} rows {len(cs):4d}  within now (weight {weights[eng]}) {now:4d}  "
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
            ex[key].append((e, weights[r["c"].engine] * r["cohort"]))
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
