#!/usr/bin/env python3
"""How far the public LLM serving measurements agree with themselves.

    python bench/llm_data_repeatability.py [--data ../shared/data/llm] [--json out.json]

The accuracy goals of ``bench/llm_validation.py`` (TTFT and TPOT within +-30 %) and of
``bench/llm_sim_validation.py`` (both within +-20 %) are measured against
``llm_serving_measurements.csv``. This script asks how often the data meets those tolerances
against itself, two ways (docs/benchmarks.md, "How far the measurements repeat"):

* **Repeats**: rows whose every stated condition is equal (source, model and checkpoint,
  engine and version, GPU, TP / PP / DP / EP, precision, KV dtype, mode, dataset, token
  lengths, batch, concurrency, rate, request count) but whose values differ. Rows whose TTFT
  and TPOT are both equal are copies of one run (kept apart, not counted).
* **Output length only, at low concurrency**: closed-loop rows of one source, model, engine,
  GPU, layout, precision and prompt length at the same concurrency (at most 16), differing
  only in the output length, where both rows' concurrency fits the KV cache at once (the
  memory arithmetic of ``scaleplan.llm.memory``, as ``bench/llm_validation.py`` sizes it;
  pairs it cannot size are left out). A request's TTFT is its wait plus its prefill; with
  every sequence resident and at most 16 clients, a new prompt rarely meets another one in the
  scheduler (the others decode), so a steady-state model predicts nearly the same TTFT for
  both rows. The spread printed is what such a model cannot follow.

Nothing here is fitted; it is a ceiling on what agreement with these rows can mean.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "llm"
CONDITIONS = (
    "source_id",
    "model",
    "hf_checkpoint",
    "engine",
    "engine_version",
    "gpu",
    "tp",
    "pp",
    "dp",
    "ep",
    "dtype",
    "kv_cache_dtype",
    "benchmark_mode",
    "dataset",
    "input_tokens",
    "output_tokens",
    "batch_size",
    "concurrency",
    "request_rate",
    "num_requests",
    "speculative_decoding",
    "notes",
)
# measurement bookkeeping inside ``notes`` (aiconfigurator's silicon_data_source): a run's
# date and file, not a condition
BOOKKEEPING = re.compile(r"(measured|source_file)=[^;]*;?\s*")
LOW_CONCURRENCY = 16


def value(row: dict[str, str], metric: str) -> float | None:
    """The row's TTFT or TPOT (median, else mean, else the unstated statistic), ms."""
    for stat in ("p50", "mean", "unspecified_stat"):
        text = row.get(f"{metric}_ms_{stat}", "")
        try:
            v = float(text)
        except ValueError:
            continue
        if v > 0:
            return v
    return None


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    return max(a, b) / min(a, b)


def within(r: float | None, tol: float) -> bool:
    return r is not None and r <= 1.0 + tol + 1e-12


def condition(row: dict[str, str], key: str) -> str:
    text = row.get(key, "")
    if key == "notes":  # the serving command and image stay; the run's date and file go
        text = BOOKKEEPING.sub("", text).replace("#", "/")
    return text


def repeat_pairs(rows: list[dict[str, str]]) -> tuple[list[dict[str, object]], int]:
    """(pairs of rows with equal conditions and different values, copies skipped)."""
    groups: dict[tuple[str, ...], list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        groups[tuple(condition(r, k) for k in CONDITIONS)].append(r)
    pairs: list[dict[str, object]] = []
    copies = 0
    for members in groups.values():
        for a, b in itertools.combinations(members, 2):
            va = (value(a, "ttft"), value(a, "tpot"))
            vb = (value(b, "ttft"), value(b, "tpot"))
            if va == vb:
                copies += 1
                continue
            pairs.append(_pair(a, b))
    return pairs, copies


def output_only_pairs(rows: list[dict[str, str]]) -> list[dict[str, object]]:
    """Closed-loop pairs at the same low concurrency that differ only in output length."""
    keys = [
        k for k in CONDITIONS if k not in ("output_tokens", "num_requests", "batch_size", "notes")
    ]
    groups: dict[tuple[str, ...], list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        if not r["benchmark_mode"].startswith("online_fixed_concurrency"):
            continue
        try:
            conc = float(r["concurrency"])
        except ValueError:
            continue
        if conc <= LOW_CONCURRENCY and value(r, "ttft") is not None and all_resident(r, int(conc)):
            groups[tuple(condition(r, k) for k in keys)].append(r)
    pairs = []
    for members in groups.values():
        for a, b in itertools.combinations(members, 2):
            if a["output_tokens"] != b["output_tokens"]:
                pairs.append(_pair(a, b))
    return pairs


def all_resident(row: dict[str, str], concurrency: int) -> bool:
    """Whether ``concurrency`` sequences of the row's prompt + output fit the KV cache at once,
    by the memory model as bench/llm_validation.py sizes the row (False when it cannot)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import llm_validation as val

    case = val.classify(row)
    if isinstance(case, str):
        return False
    try:
        _, mem = val.deployment(case)
    except Exception:  # refused by the memory model: not resident
        return False
    arch = val.preset(case.preset)
    return bool(mem.max_sequences(case.i + case.o, arch, case.kv) >= concurrency)  # type: ignore[attr-defined]


def _pair(a: dict[str, str], b: dict[str, str]) -> dict[str, object]:
    return {
        "rows": [a["row_id"], b["row_id"]],
        "what": f"{a['model']} {a['engine']} {a['gpu']} tp{a['tp']} {a['dtype'].split(' ')[0]} "
        f"{a['input_tokens']}/{a['output_tokens']} vs /{b['output_tokens']} c={a['concurrency']}",
        "ttft_ms": [value(a, "ttft"), value(b, "ttft")],
        "tpot_ms": [value(a, "tpot"), value(b, "tpot")],
        "ttft_ratio": ratio(value(a, "ttft"), value(b, "ttft")),
        "tpot_ratio": ratio(value(a, "tpot"), value(b, "tpot")),
    }


def shares(pairs: list[dict[str, object]]) -> dict[str, object]:
    def count(metric: str, tol: float) -> int:
        return sum(within(p[f"{metric}_ratio"], tol) for p in pairs)  # type: ignore[arg-type]

    both20 = sum(within(p["ttft_ratio"], 0.2) and within(p["tpot_ratio"], 0.2) for p in pairs)  # type: ignore[arg-type]
    return {
        "pairs": len(pairs),
        "ttft_within_30": count("ttft", 0.3),
        "tpot_within_30": count("tpot", 0.3),
        "ttft_within_20": count("ttft", 0.2),
        "tpot_within_20": count("tpot", 0.2),
        "both_within_20": both20,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with (args.data / "llm_serving_measurements.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    repeats, copies = repeat_pairs(rows)
    out_only = output_only_pairs(rows)
    report = {"repeats": shares(repeats), "copies": copies, "output_length_only": shares(out_only)}
    for title, pairs, key in (
        ("repeats (all stated conditions equal)", repeats, "repeats"),
        (
            f"output length only (closed loop, concurrency <= {LOW_CONCURRENCY})",
            out_only,
            "output_length_only",
        ),
    ):
        s = report[key]
        assert isinstance(s, dict)
        print(f"{title}: {s['pairs']} pairs")
        print(
            f"  TTFT within +-30 %: {s['ttft_within_30']}, +-20 %: {s['ttft_within_20']};"
            f" TPOT within +-30 %: {s['tpot_within_30']}, +-20 %: {s['tpot_within_20']};"
            f" both within +-20 %: {s['both_within_20']}"
        )
        for p in sorted(pairs, key=lambda p: -float(p["ttft_ratio"] or 0))[:12]:  # type: ignore[arg-type]
            t, q = p["ttft_ms"], p["tpot_ms"]
            assert isinstance(t, list) and isinstance(q, list)
            print(
                f"  rows {'/'.join(p['rows'])}: {p['what']}: TTFT {t[0]:g}/{t[1]:g} ms"  # type: ignore[arg-type]
                f" (x{p['ttft_ratio']:.2f}), TPOT {q[0] or 0:g}/{q[1] or 0:g} ms"
            )
    print(f"copies of one run (equal TTFT and TPOT, not counted): {copies}")
    if args.json:
        report["pairs"] = {"repeats": repeats, "output_length_only": out_only}
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
