"""A one-cluster flavor plans one region (docs/optimizer.md, "One region for a one-cluster
flavor"): the CPU seconds of ``solve`` on the 70B eks-karpenter spec of
tests/test_one_region_flavor.py (two AWS regions), with and without alternatives, and with a
budget it holds; with how many times it built candidates and searched.

    python bench/one_region_bench.py [--repeat 5]

Compare two checkouts by running it with ``PYTHONPATH=OTHER_CHECKOUT`` beside it, alternating.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

import scaleplan
import scaleplan.solve.core as core
from scaleplan.inputs import load_inputs
from scaleplan.solve import SolveOptions, solve

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_one_region_flavor import SPEC


def _counting(calls: dict[str, int]) -> None:
    """Count the calls of core's candidate build and window search (this process only)."""
    for name in ("build_candidates", "search_windows"):
        inner = getattr(core, name)

        def counted(
            *a: object, _inner: Callable[..., object] = inner, _name: str = name, **k: object
        ) -> object:
            calls[_name] = calls.get(_name, 0) + 1
            return _inner(*a, **k)

        setattr(core, name, counted)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default="/tmp/one_region_bench")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plain = yaml.safe_load(SPEC)
    budget = yaml.safe_load(SPEC)
    budget["placement"]["budget_per_hour"] = 1000
    calls: dict[str, int] = {}
    _counting(calls)
    print(f"scaleplan from {Path(scaleplan.__file__).parent}")
    print("case | median CPU s | min CPU s | builds | searches | $/h")
    for label, doc, alternatives in (
        ("alternatives", plain, True), ("no alternatives", plain, False),
        ("budget, no alternatives", budget, False),
    ):
        path = out / f"{label.replace(' ', '_').replace(',', '')}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        inp = load_inputs(str(path))
        options = SolveOptions(inputs=inp.hashes, alternatives=alternatives)
        solve(inp.spec, inp.profile, inp.catalog, options=options)  # warm the caches
        times = []
        for _ in range(args.repeat):
            calls.clear()
            t = time.process_time()
            res = solve(inp.spec, inp.profile, inp.catalog, options=options)
            times.append(time.process_time() - t)
        print(
            f"{label} | {statistics.median(times):.2f} | {min(times):.2f} | "
            f"{calls.get('build_candidates', 0)} | {calls.get('search_windows', 0)} | "
            f"{res.plan.cost_per_hour}",
            flush=True,
        )


if __name__ == "__main__":
    main()
