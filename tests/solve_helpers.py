"""Helpers for the optimizer tests: small in-memory specs, profiles, catalogs and candidates."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from scaleplan.catalog.files import load_accelerators
from scaleplan.catalog.model import Catalog, InstanceRow
from scaleplan.profile.model import Percentiles, Profile
from scaleplan.solve.candidates import Candidate
from scaleplan.solve.oppoints import OpPoint
from scaleplan.spec import Spec

LAT = Percentiles(p50=10, p90=10, p95=10, p99=10)


def spec(**over: Any) -> Spec:
    data: dict[str, Any] = {
        "apiVersion": "scaleplan/v1",
        "kind": "InferenceService",
        "metadata": {"name": "svc"},
        "model": {"profile": "profile.yaml"},
        "traffic": {"peak_rps": 100, "headroom": 0.0},
        "slo": {"latency_ms": 50, "percentile": 95},
        "placement": {"providers": ["aws"], "regions": ["us-east-1"], "min_replicas": 0},
        "kubernetes": {"image": "example.com/svc:1.0"},
    }
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(data.get(k), dict):
            data[k] = {**data[k], **v}
        else:
            data[k] = v
    return Spec.model_validate(data)


def point(acc: str, batch: int, p95: float, rps: float, **kw: Any) -> dict[str, Any]:
    return {"device": "cuda:0", "accelerator": acc, "batch_size": batch, "latency_ms": {"p50": p95 * 0.8, "p90": p95 * 0.95, "p95": p95, "p99": p95 * 1.2}, "throughput_rps": rps, **kw}


def profile(*points: dict[str, Any]) -> Profile:
    return Profile.model_validate({"metadata": {"model": "m"}, "measurements": list(points)})


def row(itype: str, acc: str | None, count: int, price: float, *, spot: float | None = None, family: str | None = None, region: str = "us-east-1", vcpus: int = 8, mem: float = 32.0, zones: tuple[str, ...] = ()) -> InstanceRow:
    return InstanceRow(provider="aws", region=region, instance_type=itype, family=family or itype.split(".")[0], accelerator=acc, accelerator_count=count, vcpus=vcpus, memory_gib=mem, price_ondemand=price, price_spot=spot, zones=zones, fetched_at="2026-11-29")


def catalog(*rows: InstanceRow) -> Catalog:
    return Catalog(accelerators=load_accelerators(), rows=tuple(rows))


def candidate(name: str, price: float, cap: float, *, rpn: int = 1, spot: bool = False, zones: int = 3, cls: str = "default") -> Candidate:
    r = row(f"{name}.x", "L4", rpn, price)
    op = OpPoint(batch_size=1, latency=LAT, throughput_rps=cap, max_utilization=1.0, capacity_rps=cap, source="measured", service_ms=10.0, request_class=None, estimated=False, latency_at_slo=10.0)
    return Candidate(row=r, capacity_type="spot" if spot else "on-demand", price=price, accelerator="L4", gpus_per_replica=1, threads=0, replicas_per_node=rpn, cpu_per_replica=1.0, memory_gib_per_replica=1.0, points=((cls, op),), zones=zones)


def delivered_utilization(plan: Any, cands: Any) -> dict[str, float]:
    """routing: gateway-api over one window: per backend Service, the worst utilization of its
    pods as the rendered HTTPRoute delivers the demand (every class at the backend's weight
    share, over its pods, with headroom and after the losses the spec claims to survive). One
    copy: bench/mixed_stream_sweep.py's check, which the sweep's figures rest on."""
    return _sweep().delivered_utilization(plan, cands)  # type: ignore[no-any-return]


@functools.cache
def _sweep() -> Any:
    from pathlib import Path

    from conftest import load_script

    return load_script(Path(__file__).resolve().parents[1] / "bench" / "mixed_stream_sweep.py")


# two_class_llm_chat at 20 rps: where the per-class plan puts the short class on an L4
PEAK_20 = ("  peak_rps: 12\n", "  peak_rps: 20\n")


def two_class_llm_chat(*extra: tuple[str, str]) -> str:
    """examples/llm-chat's spec with two token-length classes (70 % 128/64 tokens, 30 %
    6000/1024) at 12 rps on L4, L40S and H100, one GPU per replica, no spot and no redundancy
    (and ``extra`` replacements): the case where the per-class and the mix plans differ."""
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "examples" / "llm-chat" / "spec.yaml"
    text = example.read_text(encoding="utf-8")
    for old, new in [
        (
            "    - {name: short, share: 0.6, input_tokens: 256, output_tokens: 128}\n"
            "    - {name: medium, share: 0.3, input_tokens: 1024, output_tokens: 256}\n"
            "    - {name: long, share: 0.1, input_tokens: 4096, output_tokens: 512}\n",
            "    - {name: short, share: 0.7, input_tokens: 128, output_tokens: 64}\n"
            "    - {name: long, share: 0.3, input_tokens: 6000, output_tokens: 1024}\n",
        ),
        (
            "  spot:\n    allowed: true\n    max_fraction: 0.5\n  redundancy: n+1\n",
            "  redundancy: none\n",
        ),
        ("  peak_rps: 6\n", "  peak_rps: 12\n"),
        ("accelerators: [L4, A10G, L40S, A100-80GB, H100]", "accelerators: [L4, L40S, H100]"),
        ("max_gpus_per_replica: 2", "max_gpus_per_replica: 1"),
        *extra,
    ]:
        assert old in text
        text = text.replace(old, new)
    return text


def profiled_spec(cli: Any, tmp_path: Path, text: str) -> Path:
    """``text`` (a spec such as :func:`two_class_llm_chat`'s) written to tmp_path/spec.yaml and
    profiled there by ``profile llm --spec`` on L4, L40S and H100, one GPU each, to
    tmp_path/profile.yaml (through the tests' ``cli`` fixture); the spec's path."""
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(text, encoding="utf-8")
    cli(
        [
            "profile",
            "llm",
            "--spec",
            str(spec_path),
            "--accelerators",
            "L4,L40S,H100",
            "--gpus",
            "1",
            "--out",
            str(tmp_path / "profile.yaml"),
        ]
    )
    return spec_path


GATEWAY = {"image": "example.com/svc:1.0", "routing": "gateway-api", "gateway": {"name": "gw"}}


def two_class_spec(
    header: str | None = None, *, peak_rps: float = 60, shares: tuple[float, float] = (0.5, 0.5),
    **placement: Any,
) -> Spec:
    """The two-class toy's spec: classes short and long (``shares``) at ``peak_rps``,
    gateway-api on L4 and A10G in one region; ``header``: ``kubernetes.class_header``;
    ``placement``: more placement fields (redundancy, spot...)."""
    return spec(
        traffic={
            "peak_rps": peak_rps,
            "headroom": 0.2,
            "classes": [
                {"name": c, "share": x} for c, x in zip(("short", "long"), shares, strict=True)
            ],
        },
        slo={"latency_ms": 500, "percentile": 95},
        placement={
            "providers": ["aws"],
            "regions": ["us-east-1"],
            "min_replicas": 0,
            "accelerators": ["L4", "A10G"],
            **placement,
        },
        kubernetes={**GATEWAY, **({"class_header": header} if header else {})},
    )


def two_class_toy(header: str | None = None) -> tuple[Spec, Profile, Catalog]:
    """Two classes half and half at 60 rps, gateway-api: L4 serves 100 rps of short and 10 of
    long, A10G 20 of short and 60 of long (the per-class plan and the mix plan differ);
    ``header``: ``kubernetes.class_header``."""
    sp = two_class_spec(header)
    cat = catalog(row("g6.xlarge", "L4", 1, 0.8048), row("g5.xlarge", "A10G", 1, 1.006))
    return sp, two_class_profile(), cat


def two_class_profile() -> Profile:
    """The two-class toy's profile: L4 serves 100 rps of short and 10 of long, A10G 20 of short
    and 60 of long."""
    return profile(
        point("L4", 1, 10, 100, request_class="short"),
        point("L4", 1, 100, 10, request_class="long"),
        point("A10G", 1, 50, 20, request_class="short"),
        point("A10G", 1, 16.7, 60, request_class="long"),
    )
