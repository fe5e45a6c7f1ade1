"""Regenerate the *estimated* example profiles (examples/*/profile.yaml) and the black-box LLM
test fixture's (tests/data/llm-blackbox/profile.yaml).

None of these points was measured: they are plausible figures derived from simple roofline
reasoning (memory bandwidth and FP16 throughput ratios between accelerators), written so that
the examples exercise the optimizer. Each point says ``source: estimated`` with its basis.
Replace them with ``scaleplan profile`` output before relying on a plan.

    python examples/make_profiles.py
"""

from __future__ import annotations

from pathlib import Path

from scaleplan.profile.model import Profile, dump_profile

HERE = Path(__file__).resolve().parent


def pct(p50: float, spread: float = 1.0) -> dict[str, float]:
    """Latency percentiles from a median with a modest tail."""
    return {
        "p50": round(p50, 2),
        "p90": round(p50 * (1 + 0.15 * spread), 2),
        "p95": round(p50 * (1 + 0.25 * spread), 2),
        "p99": round(p50 * (1 + 0.5 * spread), 2),
        "mean": round(p50 * (1 + 0.05 * spread), 2),
    }


def est(basis: str, low: float = 0.8, high: float = 1.3, bound: str = "mixed") -> dict[str, object]:
    return {"basis": basis, "bound": bound, "low": low, "high": high}


def embedding() -> dict[str, object]:
    # all-MiniLM-L6-v2-class sentence embedder, 128-token inputs, fp32 on CPU, fp16 on GPU.
    ms: list[dict[str, object]] = []
    for threads, lat1 in ((1, 14.0), (2, 8.0), (4, 5.0)):
        for batch in (1, 8):
            lat = lat1 * (1 if batch == 1 else 5.2)
            ms.append({
                "device": "cpu", "accelerator": "CPU", "batch_size": batch, "threads": threads,
                "latency_ms": pct(lat), "throughput_rps": round(1000 * batch / lat, 2),
                "peak_memory_gib": 0.6, "source": "estimated",
                "estimate": est(f"CPU {threads} thread(s), AVX2 fp32, BERT-mini FLOPs (placeholder until `scaleplan profile` measures it)", 0.7, 1.5, "compute"),
            })
    for acc, lat_b1, per_item in (("T4", 4.0, 0.35), ("L4", 3.0, 0.22), ("A10G", 2.6, 0.18)):
        for batch in (1, 16, 64):
            lat = lat_b1 + per_item * (batch - 1)
            ms.append({
                "device": "estimate", "accelerator": acc, "batch_size": batch,
                "latency_ms": pct(lat), "throughput_rps": round(1000 * batch / lat, 2),
                "peak_memory_gib": round(0.5 + 0.01 * batch, 2), "source": "estimated",
                "estimate": est(f"{acc} fp16 tensor throughput ratio to a measured-class T4 baseline, batch {batch}", 0.8, 1.3, "compute"),
            })
    return {
        "apiVersion": "scaleplan/v1", "kind": "Profile",
        "metadata": {"model": "sentence-embedder-minilm", "kind": "synthetic", "dtype": "fp16 (GPU) / fp32 (CPU)", "input_shape": "[batch, 128] tokens",
                     "notes": ["All points are ESTIMATED (roofline-style), not measured.", "The CPU points are placeholders: `scaleplan profile` on a CPU host will replace them with a measurement."]},
        "measurements": ms,
    }


def llm() -> dict[str, object]:
    # 8B-parameter chat model, fp16 weights (~16 GiB) + KV cache; vLLM-style continuous batching.
    classes = {"short": (256, 128), "medium": (1024, 256), "long": (4096, 512)}
    # accelerator, gpus, decode ms/token at concurrency 1, prefill tokens/s, KV slots factor
    configs = (("L4", 1, 52.0, 5500.0), ("L4", 2, 30.0, 10000.0), ("A10G", 1, 30.0, 9000.0), ("L40S", 1, 20.0, 22000.0), ("A100-80GB", 1, 12.0, 40000.0), ("H100", 1, 7.5, 90000.0))
    ms: list[dict[str, object]] = []
    for acc, gpus, tpot1, prefill in configs:
        for cls, (inp, out) in classes.items():
            for conc in (1, 8, 32):
                tpot = tpot1 * (1 + conc / 24)
                ttft = 1000 * inp / prefill * (1 + conc / 6)
                e2e = ttft + out * tpot
                ms.append({
                    "device": "estimate", "accelerator": acc, "gpus": gpus, "batch_size": conc, "concurrency": conc,
                    "request_class": cls, "latency_ms": pct(e2e, 0.6), "ttft_ms": pct(ttft, 1.2), "tpot_ms": pct(tpot, 0.4),
                    "throughput_rps": round(1000 * conc / e2e, 4), "peak_memory_gib": 22.0 if acc in ("L4", "A10G") and gpus == 1 else 30.0,
                    "source": "estimated",
                    "estimate": est(f"{acc} x{gpus}: decode bound by memory bandwidth, prefill by fp16 TFLOPS; {inp}->{out} tokens", 0.8, 1.4, "memory"),
                })
    return {
        "apiVersion": "scaleplan/v1", "kind": "Profile",
        "metadata": {"model": "chat-8b", "kind": "synthetic", "dtype": "fp16",
                     "notes": ["All points are ESTIMATED from memory bandwidth (decode) and FP16 throughput (prefill); none was measured.",
                               "Request classes: short 256->128, medium 1024->256, long 4096->512 tokens."]},
        "measurements": ms,
    }


def vision() -> dict[str, object]:
    # ResNet-50-class image classifier, 224x224, fp16 with TensorRT-style batching.
    ms: list[dict[str, object]] = []
    for acc, lat_b1, per_item in (("T4", 3.2, 0.55), ("L4", 2.4, 0.3), ("A100", 1.6, 0.09)):
        for batch in (1, 8, 32):
            lat = lat_b1 + per_item * (batch - 1)
            ms.append({
                "device": "estimate", "accelerator": acc, "batch_size": batch, "latency_ms": pct(lat, 0.8),
                "throughput_rps": round(1000 * batch / lat, 2), "peak_memory_gib": round(1.2 + 0.05 * batch, 2), "source": "estimated",
                "estimate": est(f"{acc} fp16 tensor TFLOPS relative to published ResNet-50 T4 figures, batch {batch}", 0.8, 1.3, "compute"),
            })
    return {
        "apiVersion": "scaleplan/v1", "kind": "Profile",
        "metadata": {"model": "resnet50-classifier", "kind": "synthetic", "dtype": "fp16", "input_shape": "[batch, 3, 224, 224]",
                     "notes": ["All points are ESTIMATED (roofline-style from public ResNet-50 figures), not measured."]},
        "measurements": ms,
    }


def main() -> None:
    # the llm profile is the black-box LLM test fixture (examples/llm-chat plans from the
    # architecture: its profile.yaml is what `scaleplan profile llm` writes, see its spec)
    blackbox = HERE.parent / "tests" / "data" / "llm-blackbox"
    jobs = ((HERE / "embedding-cpu-gpu", embedding), (blackbox, llm), (HERE / "vision-daily", vision))
    for folder, fn in jobs:
        prof = Profile.model_validate(fn())
        folder.mkdir(exist_ok=True)
        (folder / "profile.yaml").write_text(dump_profile(prof), encoding="utf-8")


if __name__ == "__main__":
    main()
