"""The A10G, which has no published 16-bit tensor peak, is planned on the documented proxy of
scaleplan.catalog.peaks (shared with the profile estimator): slower prefill than on an A10,
the same decode, a wider TTFT band and the proxy named in the basis and the notes."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaleplan.catalog.files import load_accelerators
from scaleplan.catalog.peaks import PEAK_PROXIES, PROXY_WIDEN
from scaleplan.llm import TokenClass, setup, size
from scaleplan.llm.estimate import llm_profile
from scaleplan.llm.hardware import hardware
from scaleplan.llm.perf import serve_class
from scaleplan.plan import read_plan

ACCS = {a.name: a for a in load_accelerators()}
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_a10g_has_no_peak_of_its_own_and_a_conservative_proxy() -> None:
    a10g, a10 = ACCS["A10G"], ACCS["A10"]
    assert a10g.fp16_tflops is None and a10g.bf16_tflops is None  # the table stays honest
    hw = hardware(a10g)
    assert hw is not None and hw.peak_proxy is not None
    proxy = PEAK_PROXIES["A10G"]
    assert hw.fp16_tflops == proxy.fp16_tflops < a10.fp16_tflops == proxy.upper_bound_tflops  # type: ignore[operator]
    assert hardware(a10) is not None and hardware(a10).peak_proxy is None  # type: ignore[union-attr]


def test_a10g_prediction_uses_the_proxy_slower_prefill_wider_ttft_band() -> None:
    s = setup("llama-3.1-8b", dtype="bf16", engine="vllm")
    cls = TokenClass("long", 4096, 256)  # a prompt long enough for prefill to be compute-bound
    on_a10g = size(s, ACCS["A10G"], 1, [cls])
    on_a10 = size(s, ACCS["A10"], 1, [cls])
    p = serve_class(on_a10g.deployment, 4096, 256, 1)
    q = serve_class(on_a10.deployment, 4096, 256, 1)
    # same memory, same bandwidth: only the peak differs, so prefill is slower on the A10G
    assert p.ttft_ms > 1.3 * q.ttft_ms
    assert p.tpot_ms == pytest.approx(q.tpot_ms, rel=0.05)
    # the TTFT band widens (low end by 70/125, high end by PROXY_WIDEN); TPOT's band does not
    lo, hi = q.ttft_band
    assert p.ttft_band == pytest.approx((lo * 70 / 125, hi * PROXY_WIDEN))
    assert p.band == q.band
    assert "A10G FP16 peak proxy 70 TFLOPS" in p.basis and "proxy" not in q.basis


def test_profile_llm_on_a10g_says_so_in_notes_and_point_basis() -> None:
    s = setup("llama-3.1-8b", dtype="bf16", engine="vllm")
    cls = TokenClass("chat", 1024, 256)
    accs = [ACCS["A10G"], ACCS["L4"]]
    prof, notes = llm_profile(s, accs, [1], [cls], [1, 8], model_ref="llama-3.1-8b")
    assert any(n.startswith("A10G: modelled on a proxied peak") for n in notes)
    assert not any(n.startswith("L4: modelled on a proxied peak") for n in notes)
    pts = {m.accelerator: m for m in prof.measurements if m.concurrency == 1}
    a10g, l4 = pts["A10G"].estimate, pts["L4"].estimate
    assert a10g is not None and l4 is not None
    assert "peak proxy 70 TFLOPS" in a10g.basis and "proxy" not in l4.basis
    assert a10g.ttft_high is not None and l4.ttft_high is not None and a10g.ttft_high > l4.ttft_high


def test_optimize_warns_about_the_proxy_in_the_llm_chat_plan() -> None:
    plan = read_plan(EXAMPLES / "llm-chat" / "plan.yaml")
    assert any(w.startswith("A10G: modelled on a proxied peak") for w in plan.warnings)
    assert not any("A10G is left out" in w for w in plan.warnings)
