"""What binds a replica's ``max_num_seqs`` is named (UX trial 29 F5): the class and the limit one
more sequence breaks (TPOT / TTFT / latency at the SLO percentile, the KV cache at full length,
the engine's own cap), with its values at n and n + 1, in optimize's summary and in --json's
``allocations[].llm.max_num_seqs_bound``; plan.yaml does not hold it (the goldens do not move).

The Mixtral spec is UX trial 29's: chat 0.8 (800/300 tokens) and rag 0.2 (12,000/400, its own
TTFT 4 s), p95 TTFT 800 ms / TPOT 60 ms. Every A100 shape ran 33 sequences and said only "the
most that keep the p95 SLO": 33 is where a batch of rag *alone* reaches 60 ms p95 TPOT."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from scaleplan.catalog.files import load_accelerators
from scaleplan.cli import app
from scaleplan.llm.seqbound import alone_bound, cobatched_bound
from scaleplan.llm.serving import (
    TokenClass,
    best_concurrency,
    predict,
    setup,
    size,
    slo_verdict,
    values_as_tested,
)

MIXTRAL = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: mixtral-chat}
model:
  architecture: mixtral-8x7b
  engine: vllm
  source: {uri: mistralai/Mixtral-8x7B-Instruct-v0.1, secret: hf-token}
traffic:
  peak_rps: 16
  headroom: 0.2
  classes:
    - {name: chat, share: 0.8, input_tokens: 800, output_tokens: 300}
    - {name: rag, share: 0.2, input_tokens: 12000, output_tokens: 400, slo: {ttft_ms: 4000}}
slo: {ttft_ms: 800, tpot_ms: 60, percentile: 95}
placement:
  regions: [us-central1]
  accelerators: [A100]
  redundancy: zone
kubernetes: {namespace: llm, image: "vllm/vllm-openai:v0.11.0", flavor: gke}
"""


def _optimize(tmp_path: Path, text: str, *extra: str) -> tuple[str, Path]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(text, encoding="utf-8")
    args = ["optimize", str(spec), "--out", str(tmp_path / "out"), "--no-manifests",
            "--no-alternatives", *extra]
    res = CliRunner().invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    return res.stdout, tmp_path / "out" / "plan.yaml"


def test_the_mixtral_plan_names_rag_alone_at_p95_tpot_with_both_numbers(tmp_path: Path) -> None:
    out, plan_file = _optimize(tmp_path, MIXTRAL, "--json")
    doc = json.loads(out)
    bounds = [a["llm"]["max_num_seqs_bound"] for a in doc["allocations"]]
    assert bounds and all(b is not None for b in bounds)
    for a, b in zip(doc["allocations"], bounds, strict=True):
        assert b["max_num_seqs"] == a["llm"]["max_num_seqs"]
        # rag's 12,400-token sequences bound it, alone, not the mix the Service sends
        assert (b["class"], b["batch"]) == ("rag", "alone")
        assert b["limit"] in ("tpot", "kv_cache"), b
        if b["limit"] == "tpot":
            assert b["at_max_num_seqs"] <= b["target_ms"] == 60 < b["at_one_more"], b
            n = b["max_num_seqs"]
            said = f"max_num_seqs {n}: at {n + 1}, a batch of rag alone reaches p95 TPOT"
            assert said in b["text"]
    # not in plan.yaml: the file is the one the text run writes, byte for byte
    assert "max_num_seqs_bound" not in plan_file.read_text(encoding="utf-8")
    before = plan_file.read_bytes()
    text, _ = _optimize(tmp_path, MIXTRAL)
    assert plan_file.read_bytes() == before
    assert bounds[0]["text"] in text  # the summary says it under the shape's predictions


def _a100() -> object:
    return {a.name: a for a in load_accelerators()}["A100"]


def test_the_tpot_bound_is_the_llm_rooms_own_prediction_one_above() -> None:
    su = setup("mixtral-8x7b")
    rag = TokenClass("rag", 12000, 400)
    shape = size(su, _a100(), 8, [rag])
    slo = {"ttft_ms": 4000.0, "tpot_ms": 60.0, "latency_ms": None, "percentile": 95}
    best = best_concurrency(shape, su, rag, **slo)
    assert best is not None
    n = best.concurrency
    b = alone_bound(shape, su, rag, n, (4000.0, 60.0, None), 95)
    assert (b.cls, b.limit, b.batch, b.target) == ("rag", "tpot", "alone", 60.0)
    # the two numbers are the SLO test's own, at n and n + 1
    assert slo_verdict(predict(shape, rag, n + 1), **slo) == ("tpot", b.above)
    assert b.at_n == values_as_tested(predict(shape, rag, n), percentile=95)["tpot"] <= 60.0


def test_a_full_kv_cache_and_the_engines_cap_are_named() -> None:
    rag = TokenClass("rag", 12000, 400)
    # TPOT and TTFT lax: only the KV cache at 12,400 tokens a sequence stops it
    su = setup("mixtral-8x7b")
    shape = size(su, _a100(), 4, [rag])
    best = best_concurrency(shape, su, rag, ttft_ms=1e9, tpot_ms=1e9, latency_ms=None,
                            percentile=95)
    assert best is not None
    held = shape.memory.max_sequences(rag.tokens, su.arch, su.kv_dtype)
    assert best.concurrency == held
    b = alone_bound(shape, su, rag, held, (1e9, 1e9, None), 95)
    assert (b.limit, b.tokens) == ("kv_cache", 12400)
    assert b.text() == (f"max_num_seqs {held}: the KV cache holds {held} sequences of rag at "
                        f"full length (12,400 tokens each); {held + 1} do not fit")
    # the engine's max_num_seqs below what the cache holds
    capped = setup("mixtral-8x7b", max_num_seqs=4)
    shape = size(capped, _a100(), 4, [rag])
    b = alone_bound(shape, capped, rag, 4, (1e9, 1e9, None), 95)
    assert b.limit == "max_num_seqs" and "engine's own cap" in b.text()


def test_a_co_batched_miss_is_named_where_the_mix_binds_below_each_class_alone() -> None:
    # chat held to 25 ms TPOT beside 12,000-token summaries allowed 100 ms: co-batched, chat
    # decodes in the summaries' longer steps, so the mix binds below chat alone
    su = setup("mixtral-8x7b")
    chat, summ = TokenClass("chat", 800, 300), TokenClass("summarize", 12000, 400)
    shape = size(su, _a100(), 8, [chat, summ])
    targets = {"chat": (800.0, 25.0, None), "summarize": (5000.0, 100.0, None)}
    alone = best_concurrency(shape, su, chat, ttft_ms=800.0, tpot_ms=25.0, latency_ms=None,
                             percentile=95)
    assert alone is not None
    mix = (0.8, 0.2)
    assert cobatched_bound(shape, [chat, summ], alone.concurrency, targets, 95, mix) is not None
    n = 1
    while cobatched_bound(shape, [chat, summ], n, targets, 95, mix) is None:
        n += 1
    b = cobatched_bound(shape, [chat, summ], n, targets, 95, mix)
    assert b is not None and n < alone.concurrency
    assert (b.cls, b.batch, b.limit) == ("chat", "co-batched", "tpot")
    assert b.at_n <= 25.0 < b.above
    assert "chat co-batched in the routed class mix" in b.text()


def test_a_class_held_to_another_classs_tpot_names_whose_target_it_is() -> None:
    # r2 review 41b M1: where routing decides each replica's mix (class_header), every class is
    # held to the tightest TPOT of the classes served, since a batch's steps are shared; the
    # summaries' bound then said "over its 25 ms target" though their own target is 100 ms
    from scaleplan.solve.llm_capacity import LlmContext, _class_shape_points

    su = setup("mixtral-8x7b")
    chat, summ = TokenClass("chat", 800, 300), TokenClass("summarize", 12000, 400)
    ctx = LlmContext(setup=su, classes=(chat, summ), calibration=None, notes=())
    targets = ((800.0, 25.0, None), (5000.0, 100.0, None))
    got = _class_shape_points(ctx, targets, 95, _a100(), 8, None, False, None)
    b = got.serving.bound  # type: ignore[union-attr]
    assert b is not None and (b.cls, b.limit, b.batch) == ("summarize", "tpot", "alone"), b
    assert (b.target, b.target_of) == (25.0, "chat")
    assert "over chat's 25 ms target" in b.text() and "over its" not in b.text()
    assert "the tightest TPOT of the classes sharing its steps" in b.text()
    assert b.to_dict()["target_class"] == "chat"
    # a class bound at its own target still says "its", and names itself in --json
    own = alone_bound(size(su, _a100(), 8, [summ]), su, summ, 5, (5000.0, 100.0, None), 95)
    assert own.target_of is None
    assert own.to_dict()["target_class"] == (None if own.target is None else "summarize")


def test_one_sequence_is_said_in_the_singular() -> None:
    # UX trial 31 F14: "the KV cache holds 1 sequences of 9,000 tokens"
    from scaleplan.llm.seqbound import SeqBound

    one = SeqBound(1, "rag", "kv_cache", "alone", 95, tokens=9000).text()
    assert "the KV cache holds 1 sequence of rag at full length (9,000 tokens each)" in one
    two = SeqBound(2, "rag", "kv_cache", "alone", 95, tokens=9000).text()
    assert "holds 2 sequences of rag" in two
