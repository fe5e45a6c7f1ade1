"""Catalog rows flagged as suspect (GCP A3 prices) are left out unless
``placement.include_flagged``, but never silently (UX review 5, #1): an accelerator the spec
names whose rows are all flagged got no word, so a GKE spec allowing H100 was planned on
A100s at 4x the cost, and an H100-only spec was told no catalog row matches its placement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scaleplan.catalog.files import load_catalog
from scaleplan.solve.placement import flagged_out
from scaleplan.spec import parse_spec_text

SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: chat}
model: {architecture: llama-3.1-8b, engine: vllm}
traffic:
  peak_rps: 4
  classes: [{name: chat, share: 1.0, input_tokens: 512, output_tokens: 128}]
slo: {ttft_ms: 2000, tpot_ms: 60}
placement:
  providers: [gcp]
  regions: [us-central1]
  accelerators: [ACCS]
kubernetes: {image: vllm/vllm-openai:v0.11.0, flavor: gke}
"""


def _spec_text(accs: str, extra: str = "") -> str:
    text = SPEC.replace("ACCS", accs)
    if extra:
        text = text.replace("  accelerators:", f"  {extra}\n  accelerators:")
    return text


def _spec(accs: str, extra: str = ""):
    return parse_spec_text(_spec_text(accs, extra), "s.yaml")


def test_a_named_accelerator_left_out_for_its_flags_is_said() -> None:
    cat = load_catalog()
    said = flagged_out(_spec("L4, H100"), cat)
    assert len(said) == 1
    w = said[0]
    assert w.startswith("H100 is left out in gcp us-central1:")
    assert "a3-highgpu-8g" in w and "suspect-price" in w
    assert "placement.include_flagged: true" in w
    assert flagged_out(_spec("L4, H100", "include_flagged: true"), cat) == []
    assert flagged_out(_spec("L4"), cat) == []  # not named: nothing to say


def test_optimize_warns_and_the_empty_placement_names_the_flag(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("s.yaml").write_text(SPEC.replace("ACCS", "L4, H100"), encoding="utf-8")
    res = cli(["optimize", "s.yaml", "--out", "o"])
    assert "H100 is left out in gcp us-central1" in res.stdout + res.stderr
    Path("h.yaml").write_text(SPEC.replace("ACCS", "H100"), encoding="utf-8")
    res = cli(["optimize", "h.yaml", "--out", "o2"], exit_code=4)
    out = res.stdout + res.stderr
    assert "flagged" in out and "placement.include_flagged: true" in out


def test_catalog_list_and_show_mark_flagged_rows_in_80_columns(cli) -> None:  # type: ignore[no-untyped-def]
    """docs/catalog.md: `catalog list` shows flagged rows with the flag. The 80-column table
    showed a3-highgpu-1g at 5.3833 $/h like any other row (the flag only with -o wide), and
    `catalog show` not at all: a reader pricing H100s on GCP read a suspect price as a
    list price. Both now mark the row (after its first cell, so no column widens) and say what
    the mark means."""
    out = cli(["catalog", "list", "--provider", "gcp", "--accelerator", "H100"]).stdout
    row = next(t for t in out.splitlines() if t.startswith("a3-highgpu-1g") and "us-central1" in t)
    assert row.startswith("a3-highgpu-1g !") and "5.3833" in row
    assert "! flagged (suspect-price)" in out and "include_flagged" in out
    assert max(len(t) for t in out.splitlines()) <= 80
    ok = cli(["catalog", "list", "--provider", "aws", "--accelerator", "L4"]).stdout
    assert "!" not in ok  # unflagged rows: no mark, no footnote
    shown = cli(["catalog", "show", "a3-highgpu-1g"]).stdout
    line = next(t for t in shown.splitlines() if t.startswith("us-central1"))
    assert line.startswith("us-central1 !") and "5.3833" in line
    assert "! flagged (suspect-price)" in shown
    # what the flag says of the row, not only its name (UX trial 29 F10)
    said = " ".join(shown.split())
    assert "suspect-price: the source's GPU prices for these rows are internally" in said
    assert "(GCP A3: a3-highgpu-8g $43.07/h in us-central1" in said  # the shipped case


def test_a_user_rows_flag_is_explained_without_gcps_a3(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """r2 review 41b L1: a row of the user's own catalog flagged suspect-price was explained
    with the shipped GCP A3 example, which says nothing of the user's row."""
    own = tmp_path / "onprem.yaml"
    own.write_text(
        "apiVersion: scaleplan/v1\nkind: Catalog\n"
        "provenance: {source: our racks, build_date: '2026-11-30'}\ninstances:\n"
        "- {provider: onprem, region: dc1, instance_type: rack-l40s, family: rack,\n"
        "   accelerator: L40S,\n"
        "   accelerator_count: 4, vcpus: 64, memory_gib: 512, price_ondemand: 2.0,\n"
        "   flags: [suspect-price]}\n", encoding="utf-8")
    out = cli(["catalog", "list", "--catalog", str(own), "--provider", "onprem"]).stdout
    said = " ".join(out.split())
    assert "rack-l40s !" in out and "suspect-price: the source's GPU prices" in said, out
    assert "GCP A3" not in said and "a3-highgpu" not in said


def test_a_named_accelerator_the_providers_do_not_offer_is_said() -> None:
    """UX review 10: `accelerators: [nvidia-l4, nvidia-tesla-a100]` on azure (no L4 there) was
    planned on A100s without a word about L4."""
    from scaleplan.solve.placement import unoffered

    cat = load_catalog()
    text = SPEC.replace("ACCS", "nvidia-l4, nvidia-tesla-a100, cpu")
    text = text.replace("[gcp]", "[azure]").replace("[us-central1]", "[eastus]")
    text = text.replace("flavor: gke", "flavor: aks")
    (said,) = unoffered(parse_spec_text(text, "s.yaml"), cat)
    assert said.startswith("placement.accelerators[0]: L4 has no catalog row in azure eastus")
    assert "scaleplan catalog list --accelerator L4" in said
    assert unoffered(_spec("L4, H100"), cat) == []  # offered (H100 flagged: flagged_out says it)


OWN_PRICES = """\
apiVersion: scaleplan/v1
kind: Catalog
provenance: {source: our billing export, build_date: '2026-11-30'}
instances:
- {provider: gcp, region: us-central1, instance_type: a3-highgpu-8g, family: a3, accelerator: H100,
   accelerator_count: 8, vcpus: 208, memory_gib: 1872, price_ondemand: 88.25, price_spot: 29.44}
"""


def test_an_accelerator_that_keeps_rows_of_its_own_is_not_called_left_out(tmp_path: Path) -> None:
    """UX trial 23 F3: with a3-highgpu-8g re-priced in a catalog of the user's (no flag), the
    plan ran H100 on it and the warning still said 'H100 is left out in gcp us-central1'."""
    own = tmp_path / "prices.yaml"
    own.write_text(OWN_PRICES, encoding="utf-8")
    (said,) = flagged_out(_spec("H100"), load_catalog([own]))
    assert said.startswith("H100 catalog rows left out in gcp us-central1: a3-highgpu-1g, "), said
    assert "a3-highgpu-8g are flagged" not in said
    assert "other rows (a3-highgpu-8g in gcp us-central1)" in said
    assert "is left out" not in said


def test_the_rows_the_plan_may_use_name_their_region() -> None:
    """UX trial 35: A100-80GB over us-central1 and europe-west4 said 'rows left out in gcp
    us-central1: a2-ultragpu-1g, ... ; the plan may use its other rows (a2-ultragpu-1g, ...)':
    the same names, as the rows it may use are europe-west4's, which it did not say."""
    spec = _spec_text("A100-80GB").replace("[us-central1]", "[us-central1, europe-west4]")
    (said,) = flagged_out(parse_spec_text(spec, "s.yaml"), load_catalog())
    assert said.startswith("A100-80GB catalog rows left out in gcp us-central1: a2-ultra"), said
    others = said.split("the plan may use its other rows (", 1)[1].split(")", 1)[0]
    assert others.endswith(" in gcp europe-west4") and "us-central1" not in others, said


def test_a_plan_on_flagged_rows_says_so_and_the_empty_placement_offers_own_prices(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UX trial 23 F1: the exit-4 hint's way out, `include_flagged: true`, planned a GKE H100
    spec on the suspect us-central1 A3 prices without a word, in the plan or on stderr. The
    plan's warnings now name the flagged rows it runs on, and the exit-4 hint offers the
    user's own prices first."""
    monkeypatch.chdir(tmp_path)
    Path("h.yaml").write_text(SPEC.replace("ACCS", "H100"), encoding="utf-8")
    res = cli(["optimize", "h.yaml", "--out", "o0"], exit_code=4)
    own = "give the prices you pay for those rows in a catalog of your own"
    assert own in res.stdout + res.stderr
    Path("f.yaml").write_text(_spec_text("H100", "include_flagged: true"), encoding="utf-8")
    res = cli(["optimize", "f.yaml", "--out", "o"])
    from scaleplan.plan import read_plan

    plan = read_plan("o/plan.yaml")
    used = sorted({a.instance_type for a in plan.allocations})
    (said,) = [w for w in plan.warnings if "flagged" in w]
    assert said.startswith("the plan runs on catalog rows flagged suspect-price"), said
    assert f"gcp us-central1 {', '.join(used)};" in said
    assert "catalog of your own" in said and said in res.stderr
    Path("prices.yaml").write_text(OWN_PRICES, encoding="utf-8")
    res = cli(["optimize", "h.yaml", "--out", "o2", "--catalog", "prices.yaml"])
    assert "the plan runs on catalog rows flagged" not in res.stderr  # the user's row: no flag


def test_validate_says_what_optimize_will_say_of_the_placement(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UX trial 23 F2: a GKE spec of H100 and H200 in us-central1 (every shipped row flagged)
    was 'ok' at validate (exit 0, no warning) and exit 4 at optimize; B200 (no GCP row) alike.
    validate now prints optimize's placement warnings and says optimize will find no plan,
    with its reason and hint; the exit code stays 0."""
    monkeypatch.chdir(tmp_path)
    Path("h.yaml").write_text(SPEC.replace("ACCS", "H100, H200"), encoding="utf-8")
    res = cli(["validate", "h.yaml"])
    assert "h.yaml: ok" in res.stdout
    err = res.stderr
    assert "warning: H100 is left out in gcp us-central1" in err
    assert "warning: H200 is left out in gcp us-central1" in err
    assert "warning: optimize will find no plan (exit 4): no catalog row matches placement " in err
    assert "except 6 flagged as suspect" in err and "hint: give the prices you pay" in err
    cli(["optimize", "h.yaml", "--out", "o"], exit_code=4)  # what it foretold
    Path("b.yaml").write_text(SPEC.replace("ACCS", "B200"), encoding="utf-8")
    err = cli(["validate", "b.yaml"]).stderr
    assert "placement.accelerators[0]: B200 has no catalog row in gcp us-central1" in err
    assert "optimize will find no plan (exit 4)" in err
    Path("ok.yaml").write_text(SPEC.replace("ACCS", "L4, H100"), encoding="utf-8")
    err = cli(["validate", "ok.yaml"]).stderr
    assert "H100 is left out in gcp us-central1" in err and "will find no plan" not in err


def test_the_slo_hint_names_allowed_accelerators_left_out_for_their_flags(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UX trial 25: a GKE spec allowing L4 and H100 in us-central1 (every H100 row there
    flagged) whose TTFT no L4 shape holds was told "or allow faster accelerators
    (placement.accelerators)" of an allow list that had one: the hint now names H100 as
    allowed but never tried, and both ways to plan on it."""
    monkeypatch.chdir(tmp_path)
    text = _spec_text("L4, H100").replace("input_tokens: 512", "input_tokens: 6000")
    Path("s.yaml").write_text(text.replace("ttft_ms: 2000", "ttft_ms: 400"), encoding="utf-8")
    res = cli(["optimize", "s.yaml", "--out", "o"], exit_code=4)
    hint = next(t for t in res.stderr.splitlines() if t.startswith("hint:"))
    assert "plan on H100 (allowed, but every catalog row of it here is flagged" in hint
    assert "a catalog of your own" in hint and "placement.include_flagged: true" in hint
    # without the flagged accelerator in the allow list the hint is the plain one
    Path("l.yaml").write_text(
        text.replace("ttft_ms: 2000", "ttft_ms: 400").replace("L4, H100", "L4"), encoding="utf-8"
    )
    res = cli(["optimize", "l.yaml", "--out", "o2"], exit_code=4)
    assert "flagged" not in res.stderr and "allow faster accelerators" in res.stderr


def test_validate_says_optimize_will_find_no_plan_when_no_candidate_can_serve(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UX trial 25: rows were there but no candidate of them could serve (a 405B model on L4:
    no shape holds the weights; a TTFT no L4 shape holds at one request), which optimize
    knows before solving (exit 4), and validate said only ok. It now says so as optimize
    will, with the reason and hint; exit 0 kept, and a servable spec gets no such line."""
    monkeypatch.chdir(tmp_path)
    big = _spec_text("L4").replace("llama-3.1-8b", "llama-3.1-405b")
    Path("big.yaml").write_text(big, encoding="utf-8")
    res = cli(["validate", "big.yaml"])
    assert "big.yaml: ok" in res.stdout
    assert (
        "warning: optimize will find no plan (exit 4): no allowed shape can serve the model: "
        "llama-3.1-405b bf16 on 8x L4 (TP8) does not fit"
    ) in res.stderr
    assert "; hint: allow larger accelerators" in res.stderr
    # what it foretold; the shape nearest to fitting (8 GPUs) is said first: the message shows
    # three refusals, and read TP1, TP2 and TP4 'and 1 more' until 2026-12-06 (UX trial 25)
    err = cli(["optimize", "big.yaml", "--out", "o"], exit_code=4).stderr
    said = err.split("no allowed shape can serve the model: ", 1)[1]
    assert said.startswith("llama-3.1-405b bf16 on 8x L4 (TP8) does not fit: weights need 94.5 GiB")
    assert "on 4x L4" not in said and "; and 1 more" in said
    slow = _spec_text("L4").replace("input_tokens: 512", "input_tokens: 6000")
    Path("slow.yaml").write_text(slow.replace("ttft_ms: 2000", "ttft_ms: 400"), encoding="utf-8")
    err = cli(["validate", "slow.yaml"]).stderr
    assert "optimize will find no plan (exit 4): no accelerator meets p95 TTFT <= 400 ms" in err
    Path("fine.yaml").write_text(_spec_text("L4"), encoding="utf-8")
    assert "will find no plan" not in cli(["validate", "fine.yaml"]).stderr


def test_a_flagged_accelerator_that_cannot_run_the_dtype_is_no_way_out(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UX trial 28: an fp8 spec allowing L4 and A100-80GB in us-central1 (every A100-80GB row
    there flagged) whose TTFT no L4 shape holds was told "plan on A100-80GB (allowed, but
    every catalog row of it here is flagged ...), or set placement.include_flagged: true";
    with it, the same exit 4 and no word of the A100, which has no FP8 tensor cores. The hint
    now leaves it out and validate says why, as optimize does of an unflagged A100."""
    monkeypatch.chdir(tmp_path)
    text = _spec_text("L4, A100-80GB").replace("input_tokens: 512", "input_tokens: 6000")
    text = text.replace("ttft_ms: 2000", "ttft_ms: 400")
    text = text.replace("engine: vllm}", "engine: vllm, dtype: fp8}")
    Path("s.yaml").write_text(text, encoding="utf-8")
    res = cli(["optimize", "s.yaml", "--out", "o"], exit_code=4)
    hint = next(t for t in res.stderr.splitlines() if t.startswith("hint:"))
    assert "A100-80GB" not in hint and "include_flagged" not in hint, hint
    assert "allow faster accelerators (placement.accelerators)" in hint
    err = cli(["validate", "s.yaml"]).stderr
    assert (
        "warning: A100-80GB is left out: llama-3.1-8b in fp8: A100-80GB (Ampere) has no FP8 "
        "tensor cores; FP8 needs Ada, Hopper or Blackwell (its catalog rows here are also "
        "flagged)"
    ) in err
    assert "A100-80GB is left out in gcp us-central1" not in err  # include_flagged: no way out
    assert "include_flagged" not in err
    # bf16: the A100 runs it, so its flags are the way out, as before
    Path("b.yaml").write_text(text.replace(", dtype: fp8", ""), encoding="utf-8")
    res = cli(["optimize", "b.yaml", "--out", "o2"], exit_code=4)
    assert "plan on A100-80GB (allowed, but every catalog row of it here is flagged" in res.stderr


def test_validate_says_an_unflagged_accelerator_cannot_run_the_dtype(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UX trial 28: an fp8 spec on AKS allowing A100-80GB and H100-NVL was 'ok' at validate,
    with no word, and optimize warned "A100-80GB is left out: ... has no FP8 tensor cores";
    validate now says it too (validate runs every check optimize runs before solving)."""
    monkeypatch.chdir(tmp_path)
    text = SPEC.replace("ACCS", "A100-80GB, H100-NVL").replace("[gcp]", "[azure]")
    text = text.replace("us-central1", "eastus").replace("flavor: gke", "flavor: aks")
    fp8 = text.replace("engine: vllm}", "engine: vllm, dtype: fp8}")
    Path("a.yaml").write_text(fp8, encoding="utf-8")
    said = (
        "warning: A100-80GB is left out: llama-3.1-8b in fp8: A100-80GB (Ampere) has no FP8 "
        "tensor cores; FP8 needs Ada, Hopper or Blackwell\n"
    )
    res = cli(["validate", "a.yaml"])
    assert "a.yaml: ok" in res.stdout and said in res.stderr
    assert said in cli(["optimize", "a.yaml", "--out", "o"]).stderr  # what it foretold
    Path("b.yaml").write_text(text, encoding="utf-8")  # bf16: both run it
    assert "left out" not in cli(["validate", "b.yaml"]).stderr


def test_validate_strict_exits_where_optimize_would(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UX trial 29 F12: a spec whose TTFT was written in seconds validated with exit 0 (the
    warning foretold optimize's exit 4), so a CI pre-check passed it. ``--strict`` exits 4 with
    optimize's own error (and its JSON object under --json); the JSON summary lists the
    reasons (``no_plan``) without it; a servable spec passes --strict."""
    monkeypatch.chdir(tmp_path)
    slow = _spec_text("L4").replace("input_tokens: 512", "input_tokens: 6000")
    Path("slow.yaml").write_text(slow.replace("ttft_ms: 2000", "ttft_ms: 400"), encoding="utf-8")
    res = cli(["validate", "slow.yaml", "--strict"], exit_code=4)
    assert res.stdout == ""
    assert "error: no plan meets the spec: no accelerator meets p95 TTFT <= 400 ms" in res.stderr
    assert "will find no plan" not in res.stderr  # said once, as the error
    doc = json.loads(cli(["validate", "slow.yaml", "--strict", "--json"], exit_code=4).stdout)
    assert doc["status"] == "infeasible" and doc["error"]["exit_code"] == 4
    assert doc["reasons"][0]["code"] == "slo-unreachable"
    summary = json.loads(cli(["validate", "slow.yaml", "--json"]).stdout)
    assert [r["code"] for r in summary["no_plan"]] == ["slo-unreachable"]
    Path("fine.yaml").write_text(_spec_text("L4"), encoding="utf-8")
    assert "fine.yaml: ok" in cli(["validate", "fine.yaml", "--strict"]).stdout
    assert json.loads(cli(["validate", "fine.yaml", "--json"]).stdout)["no_plan"] == []


@pytest.mark.parametrize(("key", "said"), [
    ("budget_per_month", "budget_per_hour = your monthly figure / 730, the hours of cost_per"),
    ("budget_per_day", "budget_per_hour = your daily figure / 24"),
])
def test_a_budget_per_month_or_day_says_how_to_give_it(
    cli, tmp_path: Path, key: str, said: str
) -> None:
    """UX trial 30 F5: `budget_per_month: 3000` got only "did you mean 'budget_per_hour'?", and
    3000 put there is accepted as $3,000/h: the hint now says how to convert."""
    spec = tmp_path / "b.yaml"
    spec.write_text(_spec_text("L4").replace("placement:\n", f"placement:\n  {key}: 3000\n"),
                    encoding="utf-8")
    res = cli(["validate", str(spec)], exit_code=3)
    assert f"placement.{key}: unknown key" in res.stderr
    assert said in " ".join(res.stderr.split())


@pytest.mark.parametrize(("field", "old", "new", "said"), [
    ("kubernetes.flavor", "flavor: gke", "flavor: GKE", "did you mean 'gke'?"),
    ("kubernetes.flavor", "flavor: gke", "flavor: azure", "did you mean 'aks'?"),
    # UX trial 33: the README's "plain clusters" typed as a flavor
    ("kubernetes.flavor", "flavor: gke", "flavor: plain", "did you mean 'generic'?"),
    ("kubernetes.flavor", "flavor: gke", "flavor: on-prem", "did you mean 'generic'?"),
    ("slo.percentile", "tpot_ms: 60}", "tpot_ms: 60, percentile: p99}", "write 99: slo.perc"),
])
def test_enum_values_in_another_case_or_a_clouds_name_get_a_did_you_mean(
    cli, tmp_path: Path, field: str, old: str, new: str, said: str
) -> None:
    """UX trial 30 F9: `flavor: AKS` or `azure` and `percentile: p99` got no did-you-mean."""
    text = _spec_text("L4")
    assert old in text
    spec = tmp_path / "e.yaml"
    spec.write_text(text.replace(old, new), encoding="utf-8")
    err = " ".join(cli(["validate", str(spec)], exit_code=3).stderr.split())
    assert field in err and said in err, err


def test_the_budget_hint_names_allowed_accelerators_left_out_for_their_flags(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UX trial 33: a GKE Mixtral spec allowing L4, A100-80GB and H100 in us-central1 (every
    A100-80GB and H100 row there flagged) with an $80/h budget was told only "raise
    placement.budget_per_hour to at least 302.81" (47 nodes of 8 x L4), though with the
    flagged rows it planned $43.51/h: the budget hint now names the accelerators never tried,
    on the one-region path (no placement.regions) too."""
    monkeypatch.chdir(tmp_path)
    text = _spec_text("L4, H100", "budget_per_hour: 0.5")
    one = text.replace("  regions: [us-central1]\n", "")  # the one-region path
    for name, body in (("r.yaml", text), ("one.yaml", one)):
        Path(name).write_text(body, encoding="utf-8")
        res = cli(["optimize", name, "--out", "o"], exit_code=4)
        hint = next(t for t in res.stderr.splitlines() if t.startswith("hint:"))
        assert hint.startswith("hint: raise placement.budget_per_hour to at least "), hint
        assert "or plan on H100 (allowed, but every catalog row of it here is flagged" in hint
        assert "placement.include_flagged: true" in hint
    # an allow list without a flagged accelerator: the plain hint
    Path("l.yaml").write_text(_spec_text("L4", "budget_per_hour: 0.5"), encoding="utf-8")
    res = cli(["optimize", "l.yaml", "--out", "o2"], exit_code=4)
    assert "flagged" not in res.stderr and "raise placement.budget_per_hour" in res.stderr


def test_a_switch_section_given_as_a_boolean_gets_the_mapping_to_write(
    cli, tmp_path: Path
) -> None:
    """UX trial 33: `spot: true` got "must be a mapping (key: value); got True (expected keys:
    allowed, max_fraction, survive_loss)"; the hint now writes the mapping meant first."""
    spec = tmp_path / "s.yaml"
    spec.write_text(
        _spec_text("L4").replace("  providers: [gcp]\n", "  providers: [gcp]\n  spot: true\n"),
        encoding="utf-8",
    )
    err = " ".join(cli(["validate", str(spec)], exit_code=3).stderr.split())
    assert "placement.spot: must be a mapping" in err
    assert "(write 'spot: {allowed: true}'; expected keys: allowed," in err, err
