"""observe / optimize --observed for an LLM plan (a spec with model.architecture).

An LLM plan's capacity comes from the LLM model (docs/llm.md), calibrated only by measured
points: scaling the profile's (estimated) throughput changes nothing. observe asks vLLM for the
hourly mean TTFT, TPOT, requests running, replicas and tokens per request; optimize --observed
calibrates the model with those hours and warns when the tokens differ from the spec's classes.
The synthetic vLLM service runs the model itself with known efficiency scales (0.6 of the
documented compute and memory factors), so the fit has a truth to recover.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from llm_estimates import ESTIMATES
from observe_helpers import (
    BASE,
    binaries,
    create_blocks,
    history_llm,
    pod_rates,
    prometheus_server,
)

from scaleplan.catalog.model import Catalog

# the estimates-only fixture: examples/llm-chat with its architecture-only profile named, the
# profile these tests calibrate around (tests/llm_estimates.py)
EXAMPLE = ESTIMATES
PROMPT, OUTPUT = 1500, 200  # the spec's class mix plans 870.4 / 204.8 tokens per request
TRUE = (0.6, 0.6, 1.0)  # compute, memory, step overhead scales of the synthetic service
PODS = ("chat-g6e-xlarge-od-5c7b9d8f4-x0001", "chat-g6e-xlarge-od-5c7b9d8f4-x0002")
START = 1767225600  # 2026-01-01T00:00:00Z

needs_prometheus = pytest.mark.skipif(binaries() is None, reason="prometheus/promtool not installed (Debian package 'prometheus'; .ci/run installs it)")


Hour = tuple[float, float, float, float, float, float]


def _truth(tables: Catalog, accelerator: str = "L40S", peak: int = 24, spec_file: Path | None = None) -> list[Hour]:
    """Per UTC hour: (requests/s per pod, running per pod, TTFT s, TPOT s, prompt, output) of
    one GPU serving the example's model (or ``spec_file``'s) under the TRUE scales (open loop,
    as production)."""
    from scaleplan.llm.perf import Calibration, serve_class
    from scaleplan.llm.serving import TokenClass, setup_from_spec, size
    from scaleplan.spec import read_spec

    spec_file = spec_file or EXAMPLE / "spec.yaml"
    spec, _ = read_spec(spec_file)
    s = setup_from_spec(spec.model, spec_file.parent)
    acc = tables.accelerator(accelerator)
    assert acc is not None
    d = size(s, acc, 1, [TokenClass("observed", PROMPT, OUTPUT)]).deployment
    d = d.with_calibration(Calibration(compute=TRUE[0], memory=TRUE[1], overhead=TRUE[2]))
    out = []
    for b in BASE:
        n = 1 + round((peak - 1) * b / max(BASE))  # 2 .. peak running per pod over the day
        p = serve_class(d, PROMPT, OUTPUT, n, open_loop=True)
        out.append((p.throughput_rps, float(n), p.ttft_ms / 1000, p.tpot_ms / 1000, float(PROMPT), float(OUTPUT)))
    return out


def test_engine_token_and_mean_queries(tables: Catalog) -> None:
    from scaleplan.observe.queries import build_queries
    from scaleplan.plan import read_plan

    plan = read_plan(EXAMPLE / "plan.yaml")
    qs = build_queries(plan, tables).by_name()
    sel = 'namespace="llm",service="chat-l40s-x1"'
    assert qs["prompt_tokens"].promql == f"sum(increase(vllm:request_prompt_tokens_sum{{{sel}}}[1h])) / sum(increase(vllm:request_prompt_tokens_count{{{sel}}}[1h]))"
    assert "vllm:request_generation_tokens_sum" in qs["output_tokens"].promql
    ttft_mean = qs["ttft_mean"].promql
    assert "vllm:time_to_first_token_seconds_sum" in ttft_mean and " or " not in ttft_mean
    # TPOT: the name vLLM v0.11 on exports, else (per series) the one before v0.11
    new, old = "vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"

    def inc(suffix: str) -> str:
        return f"increase({new}{suffix}{{{sel}}}[1h]) or increase({old}{suffix}{{{sel}}}[1h])"

    assert qs["tpot_mean"].promql == f"sum({inc('_sum')}) / sum({inc('_count')})"
    assert qs["tpot"].promql == f"histogram_quantile(0.95, sum by (le) ({inc('_bucket')}))"
    assert qs["replicas_hourly"].promql.startswith(f"avg_over_time((count(up{{{sel}}} == 1))[")
    assert all(not qs[n].required and qs[n].hourly for n in ("prompt_tokens", "output_tokens", "ttft_mean", "tpot_mean", "replicas_hourly"))
    tgi = _on_engine(plan, "tgi")
    tq = build_queries(tgi, tables).by_name()
    assert "tgi_request_input_length_sum" in tq["prompt_tokens"].promql and "ttft_mean" not in tq
    sg = _on_engine(plan, "sglang")
    assert "prompt_tokens" not in build_queries(sg, tables).by_name()  # SGLang: token counters only


def test_llm_replan_calibrates_the_model_not_the_profile(tables: Catalog) -> None:
    """The replan logic alone (no Prometheus): the old throughput scaling changed nothing for an
    LLM spec; the observed hours calibrate the model, and the plan's capacity follows them."""
    from scaleplan.inputs import load_inputs
    from scaleplan.observe.analyze import Fetched, analyze
    from scaleplan.observe.model import LlmHour, ObservedLlm
    from scaleplan.observe.queries import build_queries
    from scaleplan.observe.replan import _scaled_profile, apply_observed
    from scaleplan.plan import read_plan
    from scaleplan.solve import SolveOptions, solve

    inp = load_inputs(str(EXAMPLE / "spec.yaml"))
    plan = read_plan(EXAMPLE / "plan.yaml")
    hours = [(START + 3600.0 * (h + 1), 8.0) for h in range(24)]
    obs = analyze(plan, build_queries(plan, tables), Fetched({"demand_hourly": hours, "latency_hourly": [(t, 1.0) for t, _ in hours], "demand": (), "replicas": (), "latency": ()}, START, START + 86400.0, 300.0, "http://x"))
    assert obs.llm is not None and not obs.llm.hours and "no calibration points" in (obs.llm.note or "")
    # the capacity says the plan over-states capacity by half: profile scaling would claim it
    cap = obs.capacity.model_copy(update={"rps_per_replica": obs.capacity.planned_rps_per_replica / 2, "ratio": 0.5, "method": "median", "at_latency_ms": 60000.0})
    bare = obs.model_copy(update={"capacity": cap})
    rp = apply_observed(inp.spec, inp.profile, bare, source="o.yaml")
    assert rp.profile == inp.profile  # nothing scaled: it would not be read
    assert not any("profile throughput" in x for x in rp.labels)
    said = next(x for x in rp.labels if x.startswith("capacity:"))
    assert said.startswith("capacity: not calibrated: an LLM plan's capacity comes from the LLM model") and "no calibration points" in said
    truth = _truth(tables)
    llm = ObservedLlm(prompt_tokens=PROMPT, output_tokens=OUTPUT, accelerator="L40S", gpus_per_replica=1,
                      hours=tuple(LlmHour(hour=h, replicas=2, rps_per_replica=r, concurrency_per_replica=n, prompt_tokens=p, output_tokens=o, ttft_ms=ttft * 1000, tpot_ms=tpot * 1000) for h, (r, n, ttft, tpot, p, o) in enumerate(truth)))
    rp2 = apply_observed(inp.spec, inp.profile, bare.model_copy(update={"llm": llm}), source="o.yaml")
    added = [m for m in rp2.profile.measurements if m.device == "observed"]
    # a spec without a profile (architecture only): the observed hours are the whole profile
    assert apply_observed(inp.spec, None, bare, source="o.yaml").profile is None
    with_llm = bare.model_copy(update={"llm": llm})
    alone = apply_observed(inp.spec, None, with_llm, source="o.yaml").profile
    assert alone is not None and list(alone.measurements) == added
    assert alone.metadata.architecture == inp.spec.model.architecture
    assert len(added) == 24 and all(m.source == "measured" and m.offered_rps == m.throughput_rps and m.input_tokens == PROMPT for m in added)
    assert any(x.startswith("capacity: the LLM model's calibration is given 24 observed hours on L40S x1 from o.yaml") for x in rp2.labels)
    tokens = [x for x in rp2.labels if x.startswith("tokens:")]
    assert tokens == ["tokens: the observed mean prompt was 1500 tokens per request, the spec's class mix plans 870.4 (+72%); this plan still uses traffic.classes: set their input_tokens (or shares) so that the share-weighted mean is about 1500, and optimize again"]
    assert rp2.spec.traffic.classes == inp.spec.traffic.classes  # never changed silently
    opts = SolveOptions(alternatives=False, spec_dir=str(EXAMPLE))
    before = solve(rp.spec, rp.profile, inp.catalog, options=opts).plan
    # what the non-LLM path does (scale the profile's throughput by 0.5) changes nothing here:
    # an LLM plan reads only measured points, and the example's are all estimated
    scaled, said_scaled = _scaled_profile(inp.profile, bare, "o.yaml")
    assert scaled != inp.profile and said_scaled[0].startswith("capacity: profile throughput L40S x0.500")
    shown = solve(rp.spec, scaled, inp.catalog, options=opts).plan
    assert [(a.name, a.capacity_rps_per_replica, a.replicas_per_window) for a in shown.allocations] == [(a.name, a.capacity_rps_per_replica, a.replicas_per_window) for a in before.allocations]
    after = solve(rp2.spec, rp2.profile, inp.catalog, options=opts).plan
    fit = next(w for w in after.warnings if w.startswith("calibration: compute"))
    c, m = (float(x) for x in re.findall(r"(?:compute|memory) x([0-9.]+)", fit))
    assert 0.5 <= c <= 0.75 and 0.5 <= m <= 0.75, fit  # the truth is 0.6 / 0.6 (the prior pulls towards 1)
    cap_l40s = {a.accelerator: a.capacity_rps_per_replica for a in after.allocations}
    old_l40s = max(a.capacity_rps_per_replica for a in before.allocations if a.accelerator == "L40S")
    assert cap_l40s["L40S"] < 0.8 * old_l40s  # a slower server than the model thought: less per replica
    assert after.cost_per_hour > before.cost_per_hour


@needs_prometheus
def test_observe_vllm_and_replan(cli, tables: Catalog, tmp_path) -> None:
    """A real Prometheus with a synthetic vLLM service: observe recovers the tokens and the
    hourly TTFT / TPOT / running; optimize --observed calibrates the model with them and warns
    about the prompt length (not about the output, which matches the classes)."""
    truth = _truth(tables)
    history_llm(tmp_path / "om", namespace="llm", service="chat-l40s-x1", pods=PODS, hours=truth, start=START, days=2)
    create_blocks(tmp_path / "om", tmp_path / "tsdb")
    out = tmp_path / "observed.yaml"
    with prometheus_server(tmp_path / "tsdb", tmp_path) as url:
        args = ["observe", "--prometheus", url, "--plan", str(EXAMPLE / "plan.yaml"), "--end", "2026-01-03T00:00:00Z", "--since", "2d"]
        r = cli([*args, "--out", str(out)])
        j = cli([*args, "--json"]).stdout
    assert "tokens per request: prompt 1500, output 200" in r.stdout
    doc = yaml.safe_load(out.read_text())
    # TTFT and TPOT against the spec's SLO, in the report itself (UX review 13, F2: only the
    # e2e latency was judged there; the token SLOs surfaced as risks of optimize --observed)
    spec = yaml.safe_load((EXAMPLE / "spec.yaml").read_text())["slo"]
    for key, what in (("ttft", "TTFT"), ("tpot", "TPOT")):
        hours = doc["extras"][key]["hourly"]
        above = sum(v > spec[f"{key}_ms"] for v in hours)
        head = f"{what} p95 {spec[f'{key}_ms']:g} ms: above in {above} of 24 hours of the day"
        i = r.stdout.splitlines().index(head)
        worst = f"  (median across days), worst {max(hours):g} ms"
        assert r.stdout.splitlines()[i + 1] == worst, r.stdout
    llm = doc["llm"]
    assert llm["prompt_tokens"] == pytest.approx(PROMPT, rel=0.01) and llm["output_tokens"] == pytest.approx(OUTPUT, rel=0.01)
    assert llm["accelerator"] == "L40S" and llm["gpus_per_replica"] == 1 and len(llm["hours"]) == 24
    for h in llm["hours"]:
        rps, n, ttft, tpot, _, _ = truth[h["hour"]]
        assert h["replicas"] == pytest.approx(2, rel=0.01)
        assert h["rps_per_replica"] == pytest.approx(rps, rel=0.03) and h["concurrency_per_replica"] == pytest.approx(n, rel=0.01)
        assert h["ttft_ms"] == pytest.approx(ttft * 1000, rel=0.01) and h["tpot_ms"] == pytest.approx(tpot * 1000, rel=0.01)
    assert doc["extras"]["prompt_tokens"]["unit"] == "tokens"
    assert json.loads(j) == json.loads(json.dumps(doc))  # --json: the same document
    import jsonschema

    jsonschema.validate(json.loads(j), json.loads(cli(["schema", "observed"]).stdout))
    new = tmp_path / "new"
    o = cli(["optimize", str(EXAMPLE / "spec.yaml"), "--observed", str(out), "--out", str(new), "--no-alternatives", "--no-manifests"])
    plan = yaml.safe_load((new / "plan.yaml").read_text())
    w = plan["warnings"]
    assert any(x.startswith("capacity: the LLM model's calibration is given 24 observed hours on L40S x1") for x in w)
    assert any(x.startswith("calibration: compute x") for x in w)
    assert [x for x in w if x.startswith("tokens:")] == [next(x for x in w if x.startswith("tokens: the observed mean prompt was 1500 tokens"))]
    assert "profile throughput" not in o.stderr + o.stdout
    # the spec without its profile (planned from the architecture alone): the observed hours
    # calibrate it, and the table's footnote says so (UX trial 22: "no profile: uncalibrated")
    bare = tmp_path / "bare"
    bare.mkdir()
    text = (EXAMPLE / "spec.yaml").read_text()
    assert "  profile: profile.yaml\n" in text
    (bare / "spec.yaml").write_text(text.replace("  profile: profile.yaml\n", ""))
    o = cli(["optimize", str(bare / "spec.yaml"), "--out", str(bare / "plain"), "--no-alternatives", "--no-manifests"])
    assert "* capacity from the LLM model's estimates (no profile: uncalibrated)" in o.stdout
    o = cli(["optimize", str(bare / "spec.yaml"), "--observed", str(out), "--out", str(bare / "new"), "--no-alternatives", "--no-manifests"])
    assert "* capacity from the LLM model's predictions, calibrated on measured points" in o.stdout, o.stdout
    assert "uncalibrated" not in o.stdout


TPOT_NAMES = ("vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds")


@needs_prometheus
@pytest.mark.parametrize("exported", [TPOT_NAMES[:1], TPOT_NAMES[1:], None])
def test_vllm_tpot_under_either_name(
    cli, tables: Catalog, tmp_path, exported: tuple[str, ...] | None
) -> None:
    """vLLM v0.11 exports its per-token histogram as vllm:inter_token_latency_seconds and as the
    deprecated vllm:time_per_output_token_seconds (gone from v0.13 on); a Prometheus holding only
    the new name (v0.13) or only the old one (before v0.11) gives observe the TPOT either way,
    and one holding both (v0.11, the demo's default) counts the histogram once."""
    import urllib.parse
    import urllib.request

    from scaleplan.observe.queries import build_queries
    from scaleplan.plan import read_plan

    truth = _truth(tables)
    history_llm(
        tmp_path / "om", namespace="llm", service="chat-l40s-x1", pods=PODS, hours=truth,
        start=START, days=1, tpot_names=exported,
    )
    written = (tmp_path / "om" / "day00.om").read_text()
    both = TPOT_NAMES
    assert [n in written for n in both] == [n in (exported or both) for n in both]
    create_blocks(tmp_path / "om", tmp_path / "tsdb")
    out = tmp_path / "observed.yaml"
    sel = 'namespace="llm",service="chat-l40s-x1"'
    mean = build_queries(read_plan(EXAMPLE / "plan.yaml"), tables).by_name()["tpot_mean"].promql
    numerator = mean.split(" / ")[0]

    def value(url: str, promql: str) -> float:
        qs = urllib.parse.urlencode({"query": promql, "time": "1767268800"})  # 2026-01-01T12:00Z
        with urllib.request.urlopen(f"{url}/api/v1/query?{qs}", timeout=30) as r:
            return float(json.load(r)["data"]["result"][0]["value"][1])

    with prometheus_server(tmp_path / "tsdb", tmp_path) as url:
        cli([
            "observe", "--prometheus", url, "--plan", str(EXAMPLE / "plan.yaml"),
            "--end", "2026-01-02T00:00:00Z", "--since", "1d", "--out", str(out),
        ])
        one = value(url, f"sum(increase({(exported or both)[0]}_sum{{{sel}}}[1h]))")
        assert value(url, numerator) == pytest.approx(one, rel=1e-9)  # once, not twice
    doc = yaml.safe_load(out.read_text())
    assert "tpot" in doc["extras"] and "tpot" not in doc.get("missing", [])
    assert len(doc["extras"]["tpot"]["hourly"]) == 24
    assert len(doc["llm"]["hours"]) == 24
    for h in doc["llm"]["hours"]:
        assert h["tpot_ms"] == pytest.approx(truth[h["hour"]][3] * 1000, rel=0.01)


@needs_prometheus
def test_two_shapes_calibrate_from_each_allocations_pods(cli, tables: Catalog, tmp_path) -> None:
    """A10G and L40S replicas behind the gateway: the service-wide TTFT / TPOT mix them, so each
    allocation's own pods' series give its points; one fit over both (the scales are per model
    and engine, never per accelerator)."""
    from scaleplan.observe.model import read_observed
    from scaleplan.observe.queries import build_queries
    from scaleplan.plan import dump_plan, read_plan

    plan = read_plan(EXAMPLE / "plan.yaml")
    spot, od = plan.allocations
    a10 = spot.model_copy(update={"name": "chat-g5-xlarge-spot", "instance_type": "g5.xlarge", "family": "g5", "accelerator": "A10G"})
    two = plan.model_copy(update={"allocations": (a10, od)})
    plan_file = tmp_path / "two.yaml"
    plan_file.write_text(dump_plan(two))
    qs = build_queries(two, tables)
    services = re.findall(r'service=~"([^"]+)"', qs.selector)[0].split("|")
    assert len(services) == 2, qs.selector
    by_acc = {"A10G": next(x for x in services if "-g5-" in x), "L40S": next(x for x in services if "-g6e-" in x)}  # one Service per allocation here
    truth = {"A10G": _truth(tables, "A10G", peak=12), "L40S": _truth(tables)}
    for acc, alloc in (("A10G", a10), ("L40S", od)):
        pods = [f"{alloc.name}-5c7b9d8f4-x000{i}" for i in (1, 2)]
        history_llm(tmp_path / "om", namespace="llm", service=by_acc[acc], pods=pods, hours=truth[acc], start=START, days=2, prefix=f"{acc}-")
    create_blocks(tmp_path / "om", tmp_path / "tsdb")
    out = tmp_path / "observed.yaml"
    with prometheus_server(tmp_path / "tsdb", tmp_path) as url:
        r = cli(["observe", "--prometheus", url, "--plan", str(plan_file), "--end", "2026-01-03T00:00:00Z", "--since", "2d", "--out", str(out)])
    assert "LLM model calibration points: 48 hours on A10G x1, L40S x1" in r.stdout
    llm = read_observed(out).llm
    assert llm is not None and llm.accelerator is None and len(llm.hours) == 48
    for h in llm.hours:
        rps, n, ttft, tpot, _, _ = truth[h.accelerator or ""][h.hour]
        assert h.allocation in (a10.name, od.name) and h.tpot_ms == pytest.approx(tpot * 1000, rel=0.01) and h.concurrency_per_replica == pytest.approx(n, rel=0.01)
        assert h.ttft_ms == pytest.approx(ttft * 1000, rel=0.01) and h.rps_per_replica == pytest.approx(rps, rel=0.03)
    new = tmp_path / "new"
    cli(["optimize", str(EXAMPLE / "spec.yaml"), "--observed", str(out), "--out", str(new), "--no-alternatives", "--no-manifests"])
    w = yaml.safe_load((new / "plan.yaml").read_text())["warnings"]
    assert any(x.startswith("capacity: the LLM model's calibration is given 48 observed hours on A10G x1, L40S x1") for x in w), w
    fit = next(x for x in w if x.startswith("calibration: compute"))
    c, m = (float(x) for x in re.findall(r"(?:compute|memory) x([0-9.]+)", fit))
    assert 0.5 <= c <= 0.75 and 0.5 <= m <= 0.75, fit


VLLM_IMAGE = "vllm/vllm-openai:v0.11.0"
IMAGES = {"tgi": "ghcr.io/huggingface/text-generation-inference:3.3.4", "sglang": "lmsysorg/sglang:v0.5.4"}


def _on_engine(plan: Any, engine: str) -> Any:
    """The plan served by ``engine`` in that engine's image (a vLLM image cannot start it)."""
    model = plan.spec.model.model_copy(update={"engine": engine})
    k8s = plan.spec.kubernetes.model_copy(update={"image": IMAGES[engine]})
    spec = plan.spec.model_copy(update={"model": model, "kubernetes": k8s})
    return plan.model_copy(update={"spec": spec})


@needs_prometheus
def test_observe_tgi_and_replan(cli, tables: Catalog, tmp_path) -> None:
    """The same service on TGI, whose metric names differ and which exports no TTFT histogram:
    observe reads tokens, TPOT, requests running and replicas from TGI's series, the hours carry
    no TTFT, and optimize --observed calibrates the model from TPOT alone (memory recovered;
    compute, which TPOT sees only in the steps that carry a whole prompt, in part) and says so."""
    from scaleplan.plan import dump_plan, read_plan

    work = tmp_path / "tgi"
    work.mkdir()
    for name in ("spec.yaml", "profile.yaml"):
        text = (EXAMPLE / name).read_text()
        text = text.replace("  engine: vllm\n", "  engine: tgi\n").replace(VLLM_IMAGE, IMAGES["tgi"])
        (work / name).write_text(text)
    tgi = _on_engine(read_plan(EXAMPLE / "plan.yaml"), "tgi")
    (work / "plan.yaml").write_text(dump_plan(tgi))
    truth = _truth(tables, spec_file=work / "spec.yaml")
    om = tmp_path / "om"
    history_llm(om, namespace="llm", service="chat-l40s-x1", pods=PODS, hours=truth, engine="tgi")
    assert "tgi_request_mean_time_per_token_duration_sum" in (om / "day00.om").read_text()
    create_blocks(tmp_path / "om", tmp_path / "tsdb")
    out = tmp_path / "observed.yaml"
    with prometheus_server(tmp_path / "tsdb", tmp_path) as url:
        args = ["--plan", str(work / "plan.yaml"), "--end", "2026-01-03T00:00:00Z", "--since", "2d"]
        r = cli(["observe", "--prometheus", url, *args, "--out", str(out)])
    said = " ".join(r.stdout.split())
    assert "tokens per request: prompt 1500, output 200" in said
    points = "LLM model calibration points: 24 hours on L40S x1"
    assert f"{points} (TPOT only: tgi exports no TTFT histogram" in said
    doc = yaml.safe_load(out.read_text())
    assert doc["metadata"]["engine"] == "tgi" and len(doc["llm"]["hours"]) == 24
    for h in doc["llm"]["hours"]:
        rps, n, _, tpot, _, _ = truth[h["hour"]]
        assert "ttft_ms" not in h and h["tpot_ms"] == pytest.approx(tpot * 1000, rel=0.01)
        assert h["concurrency_per_replica"] == pytest.approx(n, rel=0.01)
        assert h["rps_per_replica"] == pytest.approx(rps, rel=0.03)
    new = tmp_path / "new"
    opts = ["--out", str(new), "--no-alternatives", "--no-manifests"]
    cli(["optimize", str(work / "spec.yaml"), "--observed", str(out), *opts])
    w = yaml.safe_load((new / "plan.yaml").read_text())["warnings"]
    calibrated = "capacity: the LLM model's calibration is given 24 observed hours on L40S x1"
    label = next(x for x in w if x.startswith(calibrated))
    assert "mean TPOT at the mean requests running per replica" in label and "TPOT only" in label
    fit = next(x for x in w if x.startswith("calibration: compute"))
    c, m = (float(x) for x in re.findall(r"(?:compute|memory) x([0-9.]+)", fit))
    # memory found (truth 0.6); compute (truth 0.6) partly: 0.72, its prior's 0.9+ until TPOT
    # priced the decode steps with whole prompts in them (docs/llm.md, "Prompts arrive whole")
    assert 0.5 <= m <= 0.8 and 0.6 <= c <= 0.8, fit


def test_an_hours_admission_wait_is_taken_out_of_its_ttft() -> None:
    """vLLM's TTFT runs from arrival, so an hour with requests waiting for admission holds their
    wait, which the model's prediction at the requests running does not: the calibration took
    it as slow prefill. The wait (waiting / requests per second, Little's law) comes off; an
    hour whose wait is most of its TTFT gives no TTFT point."""
    from scaleplan.observe.model import LlmHour
    from scaleplan.observe.replan import _engine_ttft

    def hour(waiting: float | None) -> LlmHour:
        return LlmHour(hour=0, replicas=2, rps_per_replica=2.0, concurrency_per_replica=20.0, waiting_per_replica=waiting, ttft_ms=500.0, tpot_ms=30.0)

    assert _engine_ttft(hour(None)) == 500.0 and _engine_ttft(hour(0.0)) == 500.0
    assert _engine_ttft(hour(0.4)) == pytest.approx(300.0)  # 0.4 waiting / 2 rps = 200 ms
    assert _engine_ttft(hour(0.6)) is None  # 300 ms of 500: queue-bound


@needs_prometheus
def test_observe_reads_the_waiting_queue(cli, tables: Catalog, tmp_path) -> None:
    truth = _truth(tables)
    waiting = [0.1 * h[0] for h in truth]  # 100 ms of admission wait in every hour
    inflated = [(r, n, ttft + 0.1, tpot, p, o) for r, n, ttft, tpot, p, o in truth]
    history_llm(tmp_path / "om", namespace="llm", service="chat-l40s-x1", pods=PODS, hours=inflated, start=START, days=2, waiting=waiting)
    create_blocks(tmp_path / "om", tmp_path / "tsdb")
    with prometheus_server(tmp_path / "tsdb", tmp_path) as url:
        args = ["observe", "--prometheus", url, "--plan", str(EXAMPLE / "plan.yaml"), "--end", "2026-01-03T00:00:00Z", "--since", "2d"]
        doc = json.loads(cli([*args, "--json"]).stdout)
    from scaleplan.observe.model import LlmHour
    from scaleplan.observe.replan import _engine_ttft

    checked = 0
    for h in doc["llm"]["hours"]:
        want = truth[h["hour"]]
        assert h["waiting_per_replica"] == pytest.approx(0.1 * want[0], rel=0.02)
        engine = _engine_ttft(LlmHour.model_validate(h))
        if engine is not None:
            assert engine == pytest.approx(want[2] * 1000, rel=0.04)  # the engine's own TTFT
            checked += 1
    assert checked >= 12


def _om_mean(text: str, metric: str, pod: str) -> float:
    """The last _sum / _count of ``metric`` for ``pod`` in an OpenMetrics text: its mean."""
    last = {}
    for line in text.splitlines():
        for part in ("_sum", "_count"):
            if line.startswith(f"{metric}{part}{{") and f'pod="{pod}"' in line:
                last[part] = float(line.split()[1])
    return last["_sum"] / last["_count"]


@needs_prometheus
def test_docs_local_recipe_for_an_llm_plan(cli, tmp_path) -> None:
    """docs/observe.md "Try it locally" on an LLM plan: tools/observe_demo.py wrote the
    http_requests_total history of a black-box service, and observe (which asks an LLM plan's
    engine for vllm:request_success_total) exited 5 with "no data" (ux7). It now writes the
    engine's series per pod. Until 2026-12-06 it served every hour at --slowdown x the plan's
    predictions whatever the load, kept every pod up every hour and wrote exponential TTFT/TPOT
    around the mean in buckets unlike vLLM's: optimize --observed on it calibrated compute x0.48
    / overhead x4.76 and re-planned 48 % dearer (UX trial 20 F11). Now, at --slowdown 1 on an
    hourly plan (2 pods at night, 4 by day): the pods the plan runs each hour, a load-dependent
    TTFT/TPOT at or below the plan's predictions (which are at its planned concurrency), vLLM's
    bucket edges, and optimize --observed calibrates near x1 and re-plans at the same cost."""
    import subprocess
    import sys

    spec = yaml.safe_load((EXAMPLE / "spec.yaml").read_text())
    spec["traffic"].pop("peak_rps")
    spec["traffic"]["hourly_rps"] = [2.0] * 7 + [10.0] * 14 + [2.0] * 3
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(spec))
    (tmp_path / "profile.yaml").write_text((EXAMPLE / "profile.yaml").read_text())
    cli(["optimize", str(spec_file), "--out", str(tmp_path / "run"), "--no-alternatives"])
    plan_file = tmp_path / "run" / "plan.yaml"
    plan = yaml.safe_load(plan_file.read_text())
    reps = [sum(a["replicas_per_window"][h] for a in plan["allocations"]) for h in range(24)]
    assert min(reps) < max(reps)  # the plan scales down at night
    demo = tmp_path / "demo"
    tool = Path(__file__).resolve().parents[1] / "tools" / "observe_demo.py"
    proc = subprocess.run([sys.executable, str(tool), "--plan", str(plan_file), "--out", str(demo), "--days", "1", "--slowdown", "1.0"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "vllm metrics" in proc.stdout and "history ends 2026-01-02T00:00:00Z" in proc.stdout
    om = next((demo / "om").glob("*day00.om")).read_text()
    assert 'le="0.075"' in om and 'le="0.04"' in om  # vLLM's TPOT and TTFT bucket edges
    # --slowdown: slower steps hold more requests in flight (Little's law), so more than x1.5
    slow = tmp_path / "slow"
    subprocess.run([sys.executable, str(tool), "--plan", str(plan_file), "--out", str(slow), "--days", "1", "--slowdown", "1.5"], check=True, capture_output=True, timeout=300)
    pod = re.search(r'pod="([^"]+)"', om).group(1)  # type: ignore[union-attr]
    slow_om = (slow / "om" / next((demo / "om").glob("*day00.om")).name).read_text()
    assert _om_mean(slow_om, "vllm:time_to_first_token_seconds", pod) > 1.5 * _om_mean(om, "vllm:time_to_first_token_seconds", pod)
    create_blocks(demo / "om", demo / "tsdb")
    with prometheus_server(demo / "tsdb", demo) as url:
        r = cli(["observe", "--prometheus", url, "--plan", str(plan_file), "--since", "1d", "--end", "2026-01-02T00:00:00Z", "--out", str(tmp_path / "observed.yaml")])
    doc = yaml.safe_load((tmp_path / "observed.yaml").read_text())
    llm = doc["llm"]
    shares = {c["name"]: c["share"] for c in plan["spec"]["traffic"]["classes"]}
    planned = {k: max(sum(shares[c] * p[f"{k}_ms"] for c, p in a["llm"]["classes"].items()) for a in plan["allocations"]) for k in ("ttft", "tpot")}
    by_hour: dict[int, list[dict[str, Any]]] = {}
    for h in llm["hours"]:
        by_hour.setdefault(h["hour"], []).append(h)
    assert sorted(by_hour) == list(range(24))
    for hour, hs in by_hour.items():
        # a pod the plan stops leaves its last sample for Prometheus' 5-minute lookback (no
        # staleness marker in a backfill): the hour it stops reads up to 2 x 5/60 above
        assert sum(h["replicas"] for h in hs) == pytest.approx(reps[hour], abs=0.2), (hour, hs)
        for h in hs:  # below the plan's load: at most its predictions, not far below
            assert 0.6 * planned["ttft"] <= h["ttft_ms"] <= 1.02 * planned["ttft"], (h, planned)
            assert 0.6 * planned["tpot"] <= h["tpot_ms"] <= 1.02 * planned["tpot"], (h, planned)
    night, day = by_hour[3][0], by_hour[12][0]
    assert day["concurrency_per_replica"] > 1.5 * night["concurrency_per_replica"] and day["tpot_ms"] > night["tpot_ms"]
    # the TPOT p95 (vLLM's buckets, a tight per-request spread) is within 1.5 x the mean
    assert max(doc["extras"]["tpot"]["hourly"]) < 1.5 * max(h["tpot_ms"] for h in llm["hours"]) + 25.0  # + one bucket's width
    assert "TPOT p95 90 ms: above in 0 of 24 hours" in r.stdout
    o = cli(["optimize", str(spec_file), "--observed", str(tmp_path / "observed.yaml"), "--out", str(tmp_path / "new"), "--no-alternatives"])
    said = o.stdout + o.stderr
    m = re.search(r"calibration: compute x([\d.]+), memory x([\d.]+), step overhead x([\d.]+)", said)
    assert m is not None, said
    assert all(0.8 <= float(x) <= 1.25 for x in m.groups()), m.group(0)
    # the monthly line is always said (the diff's cost line only when the plans differ: the
    # hours fitted as the spec's classes, as the demo serves them, re-plan the plan itself)
    cost = re.search(r"monthly: \$([\d,.]+) -> \$([\d,.]+)", said)
    assert cost is not None and float(cost.group(2).replace(",", "")) == pytest.approx(float(cost.group(1).replace(",", "")), rel=0.05), said
    bad = subprocess.run([sys.executable, str(tool), "--plan", str(plan_file), "--out", str(tmp_path / "d2"), "--capacity", "90"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "--slowdown" in bad.stderr


@pytest.mark.parametrize("example", ["llm-chat-pool", "llm-chat"])
def test_the_demo_splits_each_hour_as_the_plans_routing_does(example: str) -> None:
    """UX trial 22 F7: tools/observe_demo.py split each hour's demand evenly over every pod
    also under inference-pool, so a g6e pod (0.94 rps) got the ~2 rps of an A100 TP2 pod
    (5.93). Under inference-pool and gateway-api a pod's share is now in proportion to its
    capacity (the route's capacity weights; the picker's equal shares for pods of one shape,
    the demo's stand-in for its KV-cache split over several); under a Service, even. Each hour's pods serve the hour's demand x --scale."""
    from scaleplan.plan import read_plan

    plan = read_plan(Path(__file__).resolve().parents[1] / "examples" / example / "plan.yaml")
    a, b = plan.allocations
    assert a.capacity_rps_per_replica == b.capacity_rps_per_replica
    slow = b.model_copy(update={"capacity_rps_per_replica": a.capacity_rps_per_replica / 2})
    mixed = plan.model_copy(update={"allocations": (a, slow)})
    service = mixed.spec.kubernetes.model_copy(update={"routing": "service"})
    even = mixed.model_copy(update={"spec": mixed.spec.model_copy(update={"kubernetes": service})})
    both = 0
    for p, ratio in ((mixed, 0.5), (even, 1.0)):
        rates = pod_rates(p, 1.5)
        for h in range(24):
            na, nb = (x.replicas_per_window[h * len(x.replicas_per_window) // 24] for x in (a, b))
            ra, rb = rates[a.name][h], rates[slow.name][h]
            demand = plan.demand.rps[h * len(plan.demand.rps) // 24] * 1.5
            assert na * ra + nb * rb == pytest.approx(demand, rel=1e-12), (h, na, nb)
            if na and nb:
                both += 1
                assert rb == pytest.approx(ratio * ra, rel=1e-12), (h, ra, rb)
    assert both >= 2


def test_hours_the_calibration_leaves_out_are_named_and_not_claimed(
    cli: Any, tables: Catalog, tmp_path: Path
) -> None:
    """optimize --observed on hours of a shape no catalog node holds (16 x L40S per replica):
    the calibration leaves every hour out. Each is named as an observed hour by its figures (it
    was 'measurements[0] (L40S x16, ...)', an index into a profile file the hour is no entry
    of), the replan's label says the hours were given, not that they calibrate (it said 'the
    LLM model is calibrated with 24 observed hours'), and a warning says none is used."""
    from scaleplan.observe.analyze import Fetched, analyze
    from scaleplan.observe.model import LlmHour, ObservedLlm, dump_observed
    from scaleplan.observe.queries import build_queries
    from scaleplan.plan import read_plan

    plan = read_plan(EXAMPLE / "plan.yaml")
    hours = [(START + 3600.0 * (h + 1), 8.0) for h in range(24)]
    series = {"demand_hourly": hours, "latency_hourly": [(t, 1.0) for t, _ in hours],
              "demand": (), "replicas": (), "latency": ()}
    obs = analyze(plan, build_queries(plan, tables),
                  Fetched(series, START, START + 86400.0, 300.0, "http://x"))
    llm = ObservedLlm(
        prompt_tokens=PROMPT, output_tokens=OUTPUT, accelerator="L40S", gpus_per_replica=16,
        hours=tuple(
            LlmHour(hour=h, replicas=2, rps_per_replica=r, concurrency_per_replica=n,
                    prompt_tokens=p, output_tokens=o, ttft_ms=ttft * 1000, tpot_ms=tpot * 1000)
            for h, (r, n, ttft, tpot, p, o) in enumerate(_truth(tables))
        ),
    )
    (tmp_path / "o.yaml").write_text(dump_observed(obs.model_copy(update={"llm": llm})))
    new = tmp_path / "new"
    cli(["optimize", str(EXAMPLE / "spec.yaml"), "--observed", str(tmp_path / "o.yaml"),
         "--out", str(new), "--no-alternatives", "--no-manifests"])
    w = yaml.safe_load((new / "plan.yaml").read_text())["warnings"]
    out = [x for x in w if x.startswith("calibration: an observed hour (L40S x16, ")]
    assert out and all("is left out: no instance in the catalogs holds more than 8 L40S" in x
                       for x in out), w
    assert not any("measurements[" in x for x in w), w
    every = "calibration: every one of the 24 observed hours optimize --observed gave is left out"
    assert every in " ".join(w)
    assert not any("is calibrated with" in x for x in w), w
    given = "capacity: the LLM model's calibration is given 24 observed hours on L40S x16"
    assert any(x.startswith(given) for x in w)
    assert not any(x.startswith("calibration: compute x") for x in w), w
