"""profile estimate / merge / import and --emit-jobs."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from profile_helpers import FORMATS, validate_profile_file

from scaleplan.catalog.files import load_catalog
from scaleplan.catalog.model import Catalog
from scaleplan.errors import OptionError
from scaleplan.profile.build import make_profile
from scaleplan.profile.estimate import TransferOptions, estimate_profile
from scaleplan.profile.model import Measurement, Percentiles, Profile, dump_profile


def _pt(acc: str, bs: int, p50: float, dev: str = "cuda:0") -> Measurement:
    return Measurement(device=dev, accelerator=acc, batch_size=bs, latency_ms=Percentiles(p50=p50, p90=p50 * 1.1, p95=p50 * 1.2, p99=p50 * 1.5, mean=p50), throughput_rps=bs / p50 * 1000, peak_memory_gib=2.0, source="measured")


def _write(tmp_path: Path, name: str, ms: list[Measurement], **kw: object) -> Path:
    p = tmp_path / name
    p.write_text(dump_profile(make_profile(model="m", measurements=ms, **kw)), encoding="utf-8")  # type: ignore[arg-type]
    return p


def test_estimate_from_gpu_sweep(tmp_path: Path, cli) -> None:
    # H100 sweep: latency flat (memory-bound) at small batch, linear (compute-bound) at large
    src = _write(tmp_path, "h100.yaml", [_pt("H100", 1, 2.0), _pt("H100", 8, 2.2), _pt("H100", 64, 8.0)], dtype="float16")
    out = tmp_path / "est.yaml"
    cli(["profile", "estimate", str(src), "--accelerators", "L4,nvidia-tesla-t4", "--out", str(out)])
    data = validate_profile_file(out)
    est = [m for m in data["measurements"] if m["source"] == "estimated"]
    assert {m["accelerator"] for m in est} == {"L4", "T4"}
    l4 = {m["batch_size"]: m for m in est if m["accelerator"] == "L4"}
    assert l4[1]["estimate"]["bound"] == "memory" and l4[64]["estimate"]["bound"] == "compute"
    # memory-bound: scales by bandwidth H100 3350 GB/s -> L4 300 GB/s (about 11x slower)
    assert 8 < l4[1]["latency_ms"]["p50"] / 2.0 < 12
    assert l4[1]["estimate"]["low"] < 1 < l4[1]["estimate"]["high"]
    assert "roofline from H100 batch 1" in l4[1]["estimate"]["basis"]
    assert all(m["device"] == "estimate" for m in est)
    assert len([m for m in data["measurements"] if m["source"] == "measured"]) == 3


def test_estimate_from_cpu_needs_flops(tmp_path: Path, cli) -> None:
    src = _write(tmp_path, "cpu.yaml", [_pt("CPU", 1, 5.0, "cpu"), _pt("CPU", 8, 20.0, "cpu")])
    r = cli(["profile", "estimate", str(src), "-a", "L4"], exit_code=3)
    assert "FLOPs" in r.stderr and "--flops-per-sample" in r.stderr
    r = cli(["profile", "estimate", str(src), "-a", "L4", "--flops-per-sample", "2e9"])
    est = [m for m in yaml.safe_load(r.stdout)["measurements"] if m["source"] == "estimated"]
    # weights unknown: the CPU band 0.5-4x is widened on the high side, and the basis says why
    assert len(est) == 2 and est[0]["estimate"]["low"] == 0.5 and est[0]["estimate"]["high"] == 5.0
    assert "transfer from CPU: low confidence" in est[0]["estimate"]["basis"] and "weights unknown" in est[0]["estimate"]["basis"]


def test_estimate_bad_inputs(tmp_path: Path, cli) -> None:
    src = _write(tmp_path, "h.yaml", [_pt("H100", 1, 2.0)])
    r = cli(["profile", "estimate", str(src), "-a", "Z9000"], exit_code=2)  # a bad option value
    assert "Invalid value for --accelerators: unknown accelerator 'Z9000'" in " ".join(r.stderr.split())
    r = cli(["profile", "estimate", str(src), "-a", "H100"])
    assert "already measured" in r.stderr
    r = cli(["profile", "estimate", str(tmp_path / "none.yaml"), "-a", "L4"], exit_code=3)
    assert "not found" in r.stderr


def test_merge(tmp_path: Path, cli) -> None:
    a = _write(tmp_path, "a.yaml", [_pt("L4", 1, 3.0), _pt("L4", 2, 3.5)])
    b = _write(tmp_path, "b.yaml", [_pt("A10G", 1, 2.5), _pt("L4", 2, 3.4)])
    out = tmp_path / "m.yaml"
    r = cli(["profile", "merge", str(a), str(b), "--out", str(out)])
    assert "replaces the point" in r.stderr
    data = validate_profile_file(out)
    keys = [(m["accelerator"], m["batch_size"], m["latency_ms"]["p50"]) for m in data["measurements"]]
    assert keys == [("A10G", 1, 2.5), ("L4", 1, 3.0), ("L4", 2, 3.4)]
    first = out.read_text()
    cli(["profile", "merge", str(a), str(b), "--out", str(out)])
    assert out.read_text() == first  # deterministic
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: scaleplan/v1\nkind: Profile\nmetadata: {model: x}\nmeasurements: []\n")
    cli(["profile", "merge", str(a), str(bad)], exit_code=3)


@pytest.mark.parametrize(
    ("file", "conc", "has_e2e_interp", "tokens"),
    [
        ("vllm_bench_serve_v0.25.1.json", 2, True, (32, 16)),  # totals 256 / 128 over 8
        ("vllm_bench_sweep_run0_v0.25.1.json", 2, True, (32, 16)),
        ("aiperf_profile_export_aiperf.json", 8, False, (467, 228)),  # sequence length avg
        # per-request arrays of 20 requests (its totals are over 200)
        ("vllm_benchmark_serving_llama33_70b_tp8_qps16_first20.json", None, False, (180, 215)),
    ],
)
def test_import_formats(
    tmp_path: Path, cli, file: str, conc: int | None, has_e2e_interp: bool, tokens: tuple[int, int]
) -> None:
    out = tmp_path / "imp.yaml"
    cli(["profile", "import", str(FORMATS / file), "--accelerator", "a100-80gb", "--gpus", "2", "--out", str(out)])
    data = validate_profile_file(out)
    (m,) = data["measurements"]
    assert m["source"] == "imported" and m["gpus"] == 2 and m["accelerator"].startswith("A100")
    assert m.get("concurrency") == conc
    # the run's mean lengths: an LLM calibration evaluates the model at them (it took the
    # --input-tokens/--output-tokens defaults, 1024/256, for a ShareGPT run of ~200/200)
    assert (m["input_tokens"], m["output_tokens"]) == tokens
    assert m["ttft_ms"]["p50"] > 0 and m["tpot_ms"]["p50"] > 0 and m["throughput_rps"] > 0
    assert any("interpolated" in n for n in data["metadata"]["notes"]) == has_e2e_interp
    if file.startswith("aiperf"):
        assert m["latency_ms"]["p90"] == pytest.approx(4279.95, rel=1e-4) and m["ttft_ms"]["p50"] == pytest.approx(117.341, rel=1e-4)
        assert data["metadata"]["model"] == "qwen3.6-nvfp4"
    if "sweep" in file:
        assert m["latency_ms"]["p50"] == pytest.approx(166.478, rel=1e-4)  # median_e2el_ms


def test_import_skips_non_finite_request_lengths(tmp_path: Path, cli) -> None:
    """A per-request length that is not a finite number (json reads NaN, Infinity) is left out
    of the run's mean lengths like a failed request's; round() of it was an internal error
    (exit 70)."""
    import json

    src = FORMATS / "vllm_benchmark_serving_llama33_70b_tp8_qps16_first20.json"
    data = json.loads(src.read_text(encoding="utf-8"))
    data["input_lens"][0], data["output_lens"][1] = float("nan"), float("inf")
    bad = tmp_path / "nan.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "imp.yaml"
    cli(["profile", "import", str(bad), "--accelerator", "H100", "--out", str(out)])
    (m,) = validate_profile_file(out)["measurements"]
    pairs = [(i, o) for i, o in zip(data["input_lens"], data["output_lens"], strict=True)][2:]
    assert m["input_tokens"] == round(sum(i for i, _ in pairs) / len(pairs))
    assert m["output_tokens"] == round(sum(o for _, o in pairs) / len(pairs))


def test_import_sweep_and_failures(tmp_path: Path, cli) -> None:
    files = [str(FORMATS / f) for f in ("vllm_bench_serve_v0.25.1.json", "vllm_bench_serve_all_failed_v0.25.1.json")]
    r = cli(["profile", "import", *files, "--accelerator", "L4"])
    assert "every request failed" in r.stderr
    assert len(yaml.safe_load(r.stdout)["measurements"]) == 1
    r = cli(["profile", "import", files[1], "--accelerator", "L4"], exit_code=3)
    # the file named (UX review 3, #17: 'no successful run in the given file(s)' named none)
    assert f"{files[1]}: no successful run: every request failed" in " ".join(r.stderr.split())
    r = cli(["profile", "import", files[0]], exit_code=3)
    assert "--accelerator" in r.stderr
    r = cli(["profile", "import", files[0], "--accelerator", "Z9"], exit_code=2)
    assert "Invalid value for --accelerator: unknown accelerator 'Z9'" in " ".join(r.stderr.split())
    r = cli(["profile", "import", files[0], "--format", "aiperf", "--accelerator", "L4"], exit_code=3)
    assert "looks like a vllm file" in r.stderr
    junk = tmp_path / "j.json"
    junk.write_text("[1, 2]")
    cli(["profile", "import", str(junk), "--accelerator", "L4"], exit_code=3)
    junk.write_text("{")
    r = cli(["profile", "import", str(junk), "--accelerator", "L4"], exit_code=3)
    assert "not valid JSON" in r.stderr


def test_emit_jobs(tmp_path: Path, cli) -> None:
    out = tmp_path / "jobs"
    args = ["profile", "mypkg.models:factory", "--emit-jobs", str(out), "--accelerators", "L4,A10G,a100-80gb", "--image", "ghcr.io/me/model:1", "--batch-sizes", "1,8", "--input-shape", "3x224x224"]
    cli(args)
    files = sorted(p.name for p in out.iterdir())
    assert files == ["kustomization.yaml", "profile-a100-80gb.yaml", "profile-a10g.yaml", "profile-l4.yaml"]
    job = yaml.safe_load((out / "profile-l4.yaml").read_text())
    assert job["kind"] == "Job"
    pod = job["spec"]["template"]["spec"]
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    keys = {t["matchExpressions"][0]["key"]: t["matchExpressions"][0]["values"][0] for t in terms}
    assert keys["nvidia.com/gpu.product"] == "NVIDIA-L4" and keys["cloud.google.com/gke-accelerator"] == "nvidia-l4"
    c = pod["containers"][0]
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1 and c["image"] == "ghcr.io/me/model:1"
    script = c["command"][2]
    assert "scaleplan profile mypkg.models:factory --batch-sizes 1,8 --input-shape 3x224x224 --device cuda" in script
    assert "--emit-jobs" not in script and "--image" not in script
    before = {p.name: p.read_text() for p in out.iterdir()}
    cli(args)
    assert {p.name: p.read_text() for p in out.iterdir()} == before  # deterministic
    import kubernetes_validate

    for name in files:
        if name != "kustomization.yaml":
            kubernetes_validate.validate(yaml.safe_load((out / name).read_text()), "1.30.0", strict=True)
    r = cli(["profile", "x:f", "--emit-jobs", str(tmp_path / "j2"), "--accelerators", "Q7", "--image", "i"], exit_code=2)
    assert "Invalid value for --accelerators: unknown accelerator 'Q7'" in " ".join(r.stderr.split())
    cli(["profile", "x:f", "--emit-jobs", str(tmp_path / "j3"), "--accelerators", "L4"], exit_code=2)



@pytest.mark.parametrize("gpus", ["1", "4"])
def test_emitted_jobs_pass_our_own_check(tmp_path: Path, cli, gpus: str) -> None:
    """`profile --emit-jobs` wrote Jobs that `scaleplan check` flagged (no securityContext, no
    CPU limit: 12 warnings for three accelerators; /dev/shm missing for --gpus 4, an error):
    our own output passes our own gate, --fail-on warning."""
    import kubernetes_validate

    out = tmp_path / "jobs"
    cli(["profile", "mypkg.models:factory", "--emit-jobs", str(out), "--accelerators", "L4,A10G,cpu", "--gpus", gpus, "--image", "ghcr.io/me/model:1"])
    r = cli(["check", str(out), "--fail-on", "warning"])
    assert "0 errors, 0 warnings in 3 objects" in r.stdout
    for name in ("profile-l4.yaml", "profile-cpu.yaml"):
        kubernetes_validate.validate(yaml.safe_load((out / name).read_text()), "1.30.0", strict=True)
    gpu = yaml.safe_load((out / "profile-l4.yaml").read_text())["spec"]["template"]["spec"]
    res = gpu["containers"][0]["resources"]
    n = int(gpus)
    assert res["limits"]["nvidia.com/gpu"] == n and res["requests"]["cpu"] == str(2 * n)
    assert res["limits"]["cpu"] == str(4 * n) and res["limits"]["memory"] == f"{32 * n}Gi"
    assert gpu["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    # a CPU Job measures at the threads its CPU limit gives it
    cpu = yaml.safe_load((out / "profile-cpu.yaml").read_text())["spec"]["template"]["spec"]["containers"][0]
    assert cpu["resources"]["limits"]["cpu"] == "2" and "--threads 2 --device cpu" in cpu["command"][2]


def test_emit_jobs_notes_a_local_target_runs_in_the_image(tmp_path: Path, cli) -> None:
    """A file TARGET is read inside the image, not here: the CLI says so (stderr, every mode)."""
    base = ["--accelerators", "L4", "--image", "ghcr.io/me/model:1"]
    r = cli(["profile", "models/net.py:factory", "--emit-jobs", str(tmp_path / "a"), *base])
    assert "note: the Jobs run TARGET inside the image: models/net.py must exist in the image, resolved from the image's working folder" in r.stderr
    r = cli(["profile", "/models/net.onnx", "--emit-jobs", str(tmp_path / "b"), "--json", *base])
    assert "/models/net.onnx must exist in the image, readable by uid 65532" in r.stderr
    r = cli(["profile", "mypkg.models:factory", "--emit-jobs", str(tmp_path / "c"), *base])
    assert "note:" not in r.stderr

# --- CPU -> GPU sanity: MiniLM-like numbers (5.7e8 FLOP/sample, 22.7 M params) ---------------

MINILM_FLOPS = 5.736e8
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog([])


def _cpu_profile(**meta: object) -> Profile:
    ms = [_pt("CPU", b, 40.0 * b, "cpu") for b in BATCHES]
    return make_profile(model="minilm-like", measurements=ms, flops_per_sample=MINILM_FLOPS, **meta)  # type: ignore[arg-type]


def _est(prof: Profile, catalog: Catalog, accs: str, **opts: object) -> dict[str, dict[int, Measurement]]:
    res = estimate_profile(prof, accs.split(","), catalog, options=TransferOptions(**opts))  # type: ignore[arg-type]
    out: dict[str, dict[int, Measurement]] = {}
    for m in res.profile.measurements:
        if m.source == "estimated":
            out.setdefault(m.accelerator, {})[m.batch_size] = m
    return out


def test_cpu_transfer_minilm_is_realistic(catalog: Catalog) -> None:
    t4 = _est(_cpu_profile(), catalog, "T4")["T4"]
    # eager PyTorch MiniLM-L6 at batch 1 on a T4 takes a few ms (launch-bound), not 0.075 ms
    assert 1.0 <= t4[1].latency_ms.p50 <= 10.0
    assert t4[64].latency_ms.p50 > t4[1].latency_ms.p50
    lats = [t4[b].latency_ms.p50 for b in BATCHES]
    assert lats == sorted(lats)
    thr = [t4[b].throughput_rps for b in BATCHES]
    assert thr == sorted(thr)  # rises with batch ...
    gains = [b / a for a, b in itertools.pairwise(thr)]
    assert gains[0] > 1.8 and gains[-1] < 1.5  # ... and saturates (doubling the batch no longer doubles it)
    for m in t4.values():
        e = m.estimate
        assert e is not None and e.low < 1 < e.high  # the band contains the point estimate
        assert "transfer from CPU: low confidence" in e.basis and "fixed 2 ms" in e.basis
        assert m.latency_ms.p50 < m.latency_ms.p90 < m.latency_ms.p99  # GPU tail model, not the CPU's


def test_cpu_transfer_overrides_and_weights(catalog: Catalog) -> None:
    base = _est(_cpu_profile(), catalog, "T4")["T4"]
    slow = _est(_cpu_profile(), catalog, "T4", overhead_ms=5.0, host_ms_per_sample=0.1)["T4"]
    assert slow[1].latency_ms.p50 == pytest.approx(base[1].latency_ms.p50 + 3.0 + 0.1, rel=1e-3)
    assert "--overhead-ms 5" in (slow[1].estimate.basis if slow[1].estimate else "")
    fp32 = _est(_cpu_profile(), catalog, "T4", gpu_dtype="float32")["T4"]
    assert fp32[64].latency_ms.p50 > base[64].latency_ms.p50 * 1.5  # FP32 without tensor cores
    # weights from metadata: a memory term appears and the band is the plain CPU band
    heavy = _est(_cpu_profile(weights_gib=2.0), catalog, "T4")["T4"]
    e = heavy[1].estimate
    assert e is not None and "weights 2 GiB" in e.basis and e.bound == "memory" and e.high == 4.0
    assert heavy[1].latency_ms.p50 > base[1].latency_ms.p50 + 5  # 2 GiB / (0.75 x 320 GB/s) ~ 9 ms
    assert base[1].estimate is not None and base[1].estimate.high > 4.0 and "weights unknown" in base[1].estimate.basis
    # input bytes from a parseable input_shape: 3x224x224 float32 = 602 KB/sample over PCIe Gen3
    img = _est(_cpu_profile(input_shape="3x224x224", dtype="float32"), catalog, "T4")["T4"]
    assert img[64].latency_ms.p50 > base[64].latency_ms.p50 + 3.0
    assert "602112 B/sample" in (img[64].estimate.basis if img[64].estimate else "")
    with pytest.raises(OptionError, match="unknown dtype 'fp8'") as bad:  # usage (exit 2)
        _est(_cpu_profile(), catalog, "T4", gpu_dtype="fp8")
    assert bad.value.option == "--gpu-dtype"
    with pytest.raises(OptionError, match="fraction"):
        _est(_cpu_profile(), catalog, "T4", compute_efficiency=1.5)


def test_cpu_transfer_a10g_uses_documented_proxy(catalog: Catalog) -> None:
    assert catalog.accelerator("A10G") is not None and catalog.accelerator("A10G").fp16_tflops is None  # type: ignore[union-attr]
    est = _est(_cpu_profile(weights_gib=0.05), catalog, "A10G,L4")
    a10g, l4 = est["A10G"][1].estimate, est["L4"][1].estimate
    assert a10g is not None and l4 is not None
    assert "A10G FP16 peak proxy 70 TFLOPS" in a10g.basis
    assert "A10's 125 is an upper bound" in a10g.basis
    assert a10g.high > l4.high  # a proxied peak widens the band


def test_cpu_bands_wider_than_gpu_bands(tmp_path: Path, catalog: Catalog) -> None:
    cpu = _est(_cpu_profile(weights_gib=0.05), catalog, "L4")["L4"]
    gpu_prof = make_profile(model="m", measurements=[_pt("T4", 1, 4.0), _pt("T4", 8, 5.0), _pt("T4", 64, 26.0)], dtype="float16")
    gpu = _est(gpu_prof, catalog, "L4")["L4"]
    for b in (1, 64):
        c, g = cpu[b].estimate, gpu[b].estimate
        assert c is not None and g is not None
        assert c.high / c.low > g.high / g.low
        assert "GPU calibration" in g.basis and "transfer from CPU" not in g.basis


def test_estimate_cli_cpu_flags(tmp_path: Path, cli) -> None:
    src = _write(tmp_path, "cpu.yaml", [_pt("CPU", 1, 40.0, "cpu"), _pt("CPU", 64, 1000.0, "cpu")], flops_per_sample=MINILM_FLOPS)
    out = tmp_path / "est.yaml"
    cli(["profile", "estimate", str(src), "-a", "T4,A10G", "--weights-gib", "0.0423", "--input-bytes", "648", "--host-ms-per-sample", "0.16", "--overhead-ms", "1.5", "--out", str(out)])
    data = validate_profile_file(out)
    est = {(m["accelerator"], m["batch_size"]): m for m in data["measurements"] if m["source"] == "estimated"}
    assert set(est) == {("T4", 1), ("T4", 64), ("A10G", 1), ("A10G", 64)}
    assert data["metadata"]["weights_gib"] == 0.0423
    assert "--overhead-ms 1.5" in est[("T4", 1)]["estimate"]["basis"] and "648 B/sample" in est[("T4", 1)]["estimate"]["basis"]
    r = cli(["profile", "estimate", str(src), "-a", "T4", "--gpu-dtype", "fp4"], exit_code=2)
    assert "--gpu-dtype" in r.stderr and "Traceback" not in r.stderr
    r = cli(["profile", "estimate", str(src), "-a", "T4", "--memory-efficiency", "0"], exit_code=2)
    assert "--memory-efficiency" in r.stderr
    cli(["profile", "estimate", str(src), "-a", "T4", "--overhead-ms", "-1"], exit_code=2)


def _gpu_profile(acc: str, dtype: str, thr: float, batch: int = 64, flops: float | None = None, weights_gib: float | None = None) -> Profile:
    lat = batch / thr * 1000
    meta: dict[str, object] = {"model": "m", "dtype": dtype}
    if flops:
        meta |= {"flops_per_sample": flops, "weights_gib": weights_gib}
    return Profile.model_validate({"metadata": meta, "measurements": [{"device": "cuda:0", "accelerator": acc, "batch_size": batch, "latency_ms": {"p50": lat, "p90": lat, "p95": lat, "p99": lat}, "throughput_rps": thr}]})


def test_served_dtype_peak_and_generation_efficiency(catalog: Catalog) -> None:
    """INT8 is transferred by the INT8 peaks (the L40S's now in the table), FP8 by the FP8
    peaks, and the generations' efficiency factors are in the ratio and the basis."""
    from scaleplan.profile.estimate import GENERATION_EFFICIENCY, estimate_profile

    # compute-bound (ResNet-50-like FLOPs and weights): the ratio is peak x efficiency
    prof = _gpu_profile("A100", "int8", 40000.0, flops=8.2e9, weights_gib=0.024)
    res = estimate_profile(prof, ["L40S", "H100"], catalog)
    est = {m.accelerator: m for m in res.profile.measurements if m.source == "estimated"}
    l40s, h100 = est["L40S"], est["H100"]
    assert l40s.estimate is not None and "INT8 peak 624->733" in l40s.estimate.basis and l40s.estimate.bound == "compute"
    ratio = l40s.throughput_rps / 40000.0
    f_expected = (733 * GENERATION_EFFICIENCY["ada"]) / 624
    assert ratio == pytest.approx(f_expected, rel=0.03)
    assert h100.throughput_rps / 40000.0 == pytest.approx(1979 * GENERATION_EFFICIENCY["hopper"] / 624, rel=0.03)
    assert (l40s.estimate.low, l40s.estimate.high) == (0.75, 1.35) and "efficiency 1 (ampere)->0.76 (ada)" in l40s.estimate.basis
    # FP8 on Ada -> Hopper uses the FP8 peaks (242.5 -> 1979)
    fp8 = estimate_profile(_gpu_profile("L4", "float8", 1000.0, flops=2.9e11, weights_gib=0.32), ["H100"], catalog)
    m = next(m for m in fp8.profile.measurements if m.source == "estimated")
    assert m.estimate is not None and "FP8 peak 242.5->1979" in m.estimate.basis
    # a generation the validation set does not cover (Turing) gets the wide band and says so
    t4 = estimate_profile(_gpu_profile("A100", "int8", 40000.0, flops=8.2e9, weights_gib=0.024), ["T4"], catalog)
    m = next(m for m in t4.profile.measurements if m.source == "estimated")
    assert m.estimate is not None and (m.estimate.low, m.estimate.high) == (0.6, 1.8) and "not in the validation set" in m.estimate.basis


def test_held_out_validation_meets_the_targets() -> None:
    """The published MLPerf pairs held out of the calibration (tests/data/estimate_validation):
    80 % of throughput estimates within +-25 %, the published value inside the band for 90 %."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import estimate_validation as ev

    rows, models, catalog = ev.load()
    test = [p for p in ev.pairs(rows) if ev.held_out(p[0])]
    assert len(test) >= 20
    within = inside = 0
    for _, src, dst in test:
        est, low, high, _ = ev.estimate(src, dst, models[src["benchmark"]], catalog)
        pub = float(dst["samples_per_s"])
        within += abs(est / pub - 1) <= 0.25
        inside += low <= est / pub <= high
    assert within / len(test) >= 0.8 and inside / len(test) >= 0.9


def test_estimate_from_an_http_endpoint_warns_that_it_scales_network_time(
    tmp_path: Path, cli
) -> None:
    """A black-box endpoint measured on L4 (7.5 ms at concurrency 16, mostly not compute) was
    estimated onto H100 at 0.88 ms without a word: the roofline scaled the HTTP time too."""
    pts = [_pt("L4", c, 5.5 + c * 0.13, "http://10.0.0.5:8080/predict") for c in (1, 4, 16)]
    src = _write(tmp_path, "http.yaml", pts, kind="endpoint")
    r = cli(["profile", "estimate", str(src), "-a", "H100", "--out", str(tmp_path / "e.yaml")])
    said = " ".join(r.stderr.split())
    assert "H100 estimated from an HTTP endpoint measured on L4: its latency includes" in said
    assert "measure the endpoint on H100 before relying on the plan" in said
    model = _write(tmp_path, "model.yaml", [_pt("L4", c, 5.5 + c * 0.13) for c in (1, 4, 16)])
    assert "HTTP endpoint" not in cli(["profile", "estimate", str(model), "-a", "H100"]).stderr


def test_cpu_transfer_without_host_work_says_so(tmp_path: Path, cli) -> None:
    """UX trial 24 F2: the tutorial's estimate of the MiniLM factory (which tokenizes in fn)
    put T4 at 11,735 rps, 2.9x the estimate with --host-ms-per-sample, without a word."""
    pts = [_pt("CPU", 1, 40.0, "cpu"), _pt("CPU", 64, 1000.0, "cpu")]
    src = _write(tmp_path, "cpu.yaml", pts, flops_per_sample=MINILM_FLOPS)
    r = cli(["profile", "estimate", str(src), "-a", "T4,L4", "--out", str(tmp_path / "a.yaml")])
    said = " ".join(r.stderr.split())
    assert "T4, L4: estimated from CPU points without --host-ms-per-sample" in said, said
    host = ["--host-ms-per-sample", "0.16"]
    r = cli(["profile", "estimate", str(src), "-a", "T4", *host, "--out", str(tmp_path / "b.yaml")])
    assert "--host-ms-per-sample" not in r.stderr
    # a torch module fed torch.randn(batch, *input_shape) does no host work of its own
    mod = _write(
        tmp_path, "mod.yaml", pts, flops_per_sample=MINILM_FLOPS, input_shape="3x224x224"
    )
    r = cli(["profile", "estimate", str(mod), "-a", "T4", "--out", str(tmp_path / "c.yaml")])
    assert "--host-ms-per-sample" not in r.stderr
