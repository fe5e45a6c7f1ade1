"""Measured points of a GPU count no catalog node holds calibrate nothing (ux7 18), as
`profile llm --gpus N` leaves such a shape out. The file is the real 70B vLLM result."""

from __future__ import annotations

from pathlib import Path

from profile_helpers import FORMATS, RUN_70B

VLLM = FORMATS / "vllm_bench_serve_v0.25.1.json"


def test_points_of_a_tp_degree_no_node_holds_calibrate_nothing(tmp_path: Path, cli) -> None:
    """ux7 18: the 70B run imported as TP16 H100 calibrated the model as one 16-GPU node
    (compute x0.98, memory x0.93, overhead x1.68), while `profile llm --gpus 16` leaves that
    shape out: no catalog instance holds more than 8 H100."""
    def calibrate(gpus: str) -> str:
        out = tmp_path / f"p{gpus}.yaml"
        cli(["profile", "import", str(RUN_70B), "--accelerator", "H100", "--gpus", gpus, "--out", str(out)])
        args = ["profile", "llm", "llama-3.3-70b-instruct", "--accelerators", "H100", "--gpus", "8", "--concurrency", "8", "--calibrate", str(out), "--out", "-"]
        r = cli(args)
        return " ".join(r.stderr.split())

    text = calibrate("16")
    assert "(H100 x16, concurrency 41) is left out: no instance in the catalogs holds more than 8 H100" in text
    assert "measured point on H100" not in text
    text = calibrate("8")
    assert "left out: no instance in the catalogs" not in text
    assert "from 1 measured point on H100" in text
