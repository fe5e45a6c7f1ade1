"""A measured point faster than the model's weights can be read is left out of the calibration
(UX trial 36, finding 3).

The shipped vLLM result of facebook/opt-125m (formats/ 3c: TPOT 11.3 ms at 2 clients), imported
as one H100 and named as a Llama-3.1-70B fp8 plan's profile, calibrated it (memory x1.34) with
only a warning that the run names another model, and validate said ok. A decode step reads at
least the weights one token passes through (68.5 GB of fp8 linear weights) at no more than the
H100's 3,350 GB/s, 20.4 ms: the point cannot be of this model on one H100. It is now left out
with that arithmetic. No row of shared/data/llm/llm_serving_measurements.csv (1,011 with a TPOT,
bench/llm_validation.py's deployments) is below this floor."""

from __future__ import annotations

from pathlib import Path

from scaleplan.catalog.files import load_accelerators
from scaleplan.llm import setup
from scaleplan.llm.estimate import calibration_from, observed_from_profile
from scaleplan.llm.serving import TokenClass
from scaleplan.profile.model import read_profile

ROOT = Path(__file__).resolve().parents[1]
CHAT = [TokenClass("chat", 1200, 350)]


def _imported(cli, tmp_path: Path, shared_dir: Path, *extra: str) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path / "opt.yaml"
    src = shared_dir / "data" / "formats" / "vllm_bench_serve_v0.25.1.json"
    cli(["profile", "import", str(src), "--accelerator", "H100", "--dtype", "fp8", *extra,
         "--out", str(out)])
    return out


def test_a_point_faster_than_reading_the_weights_is_left_out(cli, tmp_path, shared_dir) -> None:  # type: ignore[no-untyped-def]
    prof = read_profile(str(_imported(cli, tmp_path, shared_dir)))
    s = setup("llama-3.1-70b", dtype="fp8")
    accs = {a.name: a for a in load_accelerators()}
    obs, skipped = observed_from_profile(s, prof.measurements, accs, CHAT)
    assert obs == []
    assert skipped == [
        "measurements[0] (H100 x1, concurrency 2) is left out: its TPOT 11.3 ms is below 20.4 ms, "
        "the time to read llama-3.1-70b's fp8 weights once on 1 x H100 (68.5 GB per GPU at "
        "3,350 GB/s, the datasheet peak): no decode step of this model is that fast there, so "
        "the run was of a smaller model, on more GPUs than the profile records (profile import "
        "--gpus), or with speculative decoding"
    ], skipped
    cal, _ = calibration_from(s, prof.measurements, accs, CHAT)
    assert cal is None  # nothing calibrates the plan: it rests on the architecture alone


def test_the_floor_is_per_gpu_and_keeps_real_points(cli, tmp_path, shared_dir) -> None:  # type: ignore[no-untyped-def]
    """The same 11.3 ms as a TP8 run is above the floor there (2.6 ms a step): kept, as are
    the llm-70b-tp example's measured H100 TP8 points (12-20 ms)."""
    accs = {a.name: a for a in load_accelerators()}
    s = setup("llama-3.1-70b", dtype="fp8")
    tp8 = read_profile(str(_imported(cli, tmp_path, shared_dir, "--gpus", "8")))
    obs, skipped = observed_from_profile(s, tp8.measurements, accs, CHAT)
    assert len(obs) == 1 and skipped == []
    example = read_profile(str(ROOT / "examples" / "llm-70b-tp" / "profile.yaml"))
    obs, skipped = observed_from_profile(
        setup("llama-3.1-70b", dtype="fp8", kv_cache_dtype="fp8"), example.measurements, accs,
        [TokenClass("chat", 1024, 1024)])
    assert len(obs) == 3 and skipped == []


def test_a_rate_beyond_the_gpus_peak_is_left_out() -> None:
    """A point serving more prompt and output tokens than the GPUs can multiply through the
    linear layers at their dense peak is left out with that arithmetic (aiconfigurator's
    Qwen3-32B NVFP4 runs at 416-448 clients of 15,000-token prompts on two B200 need 3 x the
    peak: a prefix cache, or another concurrency). The llm-70b-tp example's H100 TP8 point at
    8 clients (0.83 requests/s of 1,024 + 1,024 tokens, 1.5 % of the peak) is kept; the same
    point at 60 requests/s (61,440 output tokens/s) is not."""
    accs = {a.name: a for a in load_accelerators()}
    s = setup("llama-3.1-70b", dtype="fp8", kv_cache_dtype="fp8")
    example = read_profile(str(ROOT / "examples" / "llm-70b-tp" / "profile.yaml"))
    fast = example.measurements[0].model_copy(update={"throughput_rps": 60.0})
    chat = [TokenClass("chat", 1024, 1024)]
    obs, skipped = observed_from_profile(s, [fast, *example.measurements[1:]], accs, chat)
    assert len(obs) == 2
    assert skipped == [
        "measurements[0] (H100 x8, concurrency 8) is left out: its 60 requests/s of 1,024 + "
        "1,024 tokens need at least 16.8 PFLOP/s in llama-3.1-70b's linear layers (2 FLOPs x "
        "68.5 B weights a token), above the 15.8 PFLOP/s fp8 dense peak of 8 x H100: its "
        "prompts were not all computed (a prefix cache reused repeated prompts), or the run was "
        "of a smaller model or on more GPUs than the profile records (profile import --gpus)"
    ], skipped
