"""Benchmark: rendering plans, and scaleplan.check.schema_cache vs kubernetes_validate.validate.

Run: /work/venv/bin/python bench/render.py   (prints a Markdown table; no timing asserts)
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from render_helpers import FLAVORS, PLANS, with_flavor


def main() -> None:
    import kubernetes_validate

    from scaleplan.check.schema_cache import validate_object
    from scaleplan.inputs import load_tables
    from scaleplan.render import render, render_report

    tables = load_tables()  # the shipped accelerator table and AWS rows, read once
    plans = [with_flavor(make(), f) for make in PLANS.values() for f in FLAVORS]
    render(plans[0], tables)  # warm caches
    t = time.perf_counter()
    for p in plans:
        render(p, tables)
    t_render = time.perf_counter() - t

    objs = [o.obj for p in plans for o in render_report(p, tables).objects]
    mixed = (objs * (1000 // len(objs) + 1))[:1000]
    t = time.perf_counter()
    validate_object(mixed[0], "1.37")
    t_first = time.perf_counter() - t
    t = time.perf_counter()
    for o in mixed:
        assert validate_object(o, "1.37") == []
    t_cached = time.perf_counter() - t

    builtin = [o for o in mixed if "." not in o["apiVersion"].split("/")[0] or o["apiVersion"].startswith(("apps/", "policy/", "autoscaling/"))][:200]
    t = time.perf_counter()
    for o in builtin:
        kubernetes_validate.validate(o, "1.37", strict=True)
    t_kv = time.perf_counter() - t
    t = time.perf_counter()
    for o in builtin:
        validate_object(o, "1.37")
    t_ours = time.perf_counter() - t

    print(f"machine: {platform.machine()}, {platform.python_version()}, date {time.strftime('%Y-%m-%d')}")
    print("| measurement | figure |")
    print("| --- | --- |")
    print(f"| render {len(plans)} plans (7 test plans x 5 flavors) | {t_render:.3f} s ({1000 * t_render / len(plans):.1f} ms/plan) |")
    print(f"| first validate_object call (loads 1.37 schemas) | {t_first:.3f} s |")
    print(f"| validate_object, 1,000 rendered manifests (mixed kinds incl. CRDs), cached | {t_cached:.3f} s ({t_cached:.3f} ms/manifest) |")
    print(f"| kubernetes_validate.validate strict, {len(builtin)} built-in manifests | {t_kv:.3f} s ({1000 * t_kv / len(builtin):.2f} ms/manifest) |")
    print(f"| validate_object, same {len(builtin)} manifests | {t_ours:.3f} s ({1000 * t_ours / len(builtin):.2f} ms/manifest, {t_kv / t_ours:.0f}x faster) |")


if __name__ == "__main__":
    main()
