"""`scaleplan import melange`: Mélange configs and AIBrix profiles become the same problem."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scaleplan.catalog.files import load_catalog
from scaleplan.importers.melange import import_files
from scaleplan.profile.model import read_profile
from scaleplan.spec import read_spec

DATA = Path(__file__).resolve().parent / "data" / "melange"
README_COST = 6.70  # melange-release README.md @ d46ab43: {"A10G": 3, "A100-80GB": 1, "cost": 6.7}


def _optimize(cli, out: Path) -> dict:  # type: ignore[no-untyped-def,type-arg]
    res = cli(["optimize", str(out / "spec.yaml"), "--out", str(out / "plan"), "--json", "--no-manifests"])
    return json.loads(res.stdout)  # type: ignore[no-any-return]


def test_readme_example_costs_no_more_than_melange(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli(["import", "melange", str(DATA / "example.json"), "--out", str(tmp_path)])
    spec, _ = read_spec(tmp_path / "spec.yaml")
    assert spec.traffic.headroom == 0 and spec.placement.redundancy == "none" and spec.placement.min_replicas == 0
    assert [c.share for c in spec.traffic.classes] == pytest.approx([0.2, 0.1, 0.5, 0.2])
    # Mélange's router sends each bucket to the GPU types chosen for it: the import says every
    # request names its bucket in X-Request-Class (kubernetes.class_header), so the HTTPRoute
    # has a rule per bucket and the per-bucket plan is what it delivers: 1 x A100-80GB +
    # 1 x A10G, $4.68/h (below Mélange's README answer). Class-blind (no header), every
    # backend takes the bucket mix: 1 x A100-80GB + 2 x A10G, $5.69/h.
    assert spec.kubernetes.class_header == "X-Request-Class"
    doc = _optimize(cli, tmp_path)
    assert doc["status"] == "optimal"
    assert doc["cost_per_hour"] <= README_COST + 1e-9
    assert doc["cost_per_hour"] == pytest.approx(4.68)
    text = (tmp_path / "spec.yaml").read_text(encoding="utf-8")
    (tmp_path / "spec.yaml").write_text(text.replace("class_header: X-Request-Class", ""), encoding="utf-8")
    blind = _optimize(cli, tmp_path)
    assert blind["status"] == "optimal" and blind["cost_per_hour"] == pytest.approx(5.69)
    assert all(a["operating_point"]["max_utilization"] == 1.0 for a in doc["allocations"])


def test_main_py_example(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli(["import", "melange", str(DATA / "melange_mainpy_ad10bce.json"), "--out", str(tmp_path)])
    doc = _optimize(cli, tmp_path)
    assert doc["status"] == "optimal" and doc["cost_per_hour"] > 0


def test_aibrix_axes_are_transposed(tmp_path: Path) -> None:
    a100 = json.loads((DATA / "simulator-llama2-7b-a100.json").read_text())
    res = import_files([str(DATA / "simulator-llama2-7b-a100.json")], load_catalog(), rate=10)
    outs, ins = a100["indexes"]
    prof = res.profile
    # tputs[r][c] is output length outs[r], input length ins[c]
    want = a100["tputs"][1][3]
    got = [m.throughput_rps for m in prof.measurements if m.request_class == f"in{ins[3]}-out{outs[1]}"]
    assert got == [pytest.approx(want)]
    assert res.spec.slo.percentile == 99 and res.spec.slo.latency_ms == 5000
    assert len(res.spec.traffic.classes) == len(outs) * len(ins)


def test_aibrix_two_gpus_solve(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a = tmp_path / "a100.json"
    b = tmp_path / "a40.json"
    shutil.copy(DATA / "simulator-llama2-7b-a100_obsoleted_v1.json", a)
    shutil.copy(DATA / "simulator-llama2-7b-a40.json", b)
    out = tmp_path / "out"
    cli(["import", "melange", str(a), str(b), "--rate", "30", "--out", str(out)])
    prof = read_profile(out / "profile.yaml")
    assert {m.accelerator for m in prof.measurements} >= {"A100"}
    doc = _optimize(cli, out)
    assert doc["status"] == "optimal"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "not an AIBrix profile"),
        ('{"gpu_info": {}, "slice_factr": 2}', "slice_factr: unknown key (did you mean 'slice_fac"),
        ('{"gpu_info": {}, "workload_distribution": [[1]], "total_request_rate": 1}', "gpu_info: must be a non-empty mapping"),
        ('{"gpu_info": {"A10G": {"cost": 1, "tputs": [[1, 2]]}}, "workload_distribution": [[1]], "total_request_rate": 1}', "the workload distribution is 1x1"),
        ('{"gpu_info": {"A10G": {"cost": -1, "tputs": [[1]]}}, "workload_distribution": [[1]], "total_request_rate": 1}', "must be a price"),
        ('{"gpu_info": {"A10G": {"cost": 1, "tputs": [[1]]}}, "workload_distribution": [[1]], "total_request_rate": 0}', "total_request_rate"),
    ],
)
def test_bad_files_exit_3(cli, tmp_path: Path, content: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "in.json"
    f.write_text(content)
    res = cli(["import", "melange", str(f), "--out", str(tmp_path / "o")], exit_code=3)
    assert needle in res.stderr


def test_aibrix_needs_rate(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli(["import", "melange", str(DATA / "simulator-llama2-7b-a40.json"), "--out", str(tmp_path)], exit_code=3)
    assert "--rate" in res.stderr


def test_profile_import_reads_aibrix_and_melange_profiles(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`scaleplan profile import` detects AIBrix and Mélange files and writes the same points
    `scaleplan import melange` does (no --rate needed: the points don't depend on it)."""
    a100, a40 = DATA / "simulator-llama2-7b-a100.json", DATA / "simulator-llama2-7b-a40.json"
    out = tmp_path / "aibrix.yaml"
    cli(["profile", "import", str(a100), str(a40), "--out", str(out)])
    prof = read_profile(out)
    full = import_files([str(a100), str(a40)], load_catalog(), rate=30)
    assert prof.measurements == full.profile.measurements
    doc = json.loads(a100.read_text())
    outs, ins = doc["indexes"]
    got = [m.throughput_rps for m in prof.measurements if m.accelerator == "A100" and m.request_class == f"in{ins[3]}-out{outs[1]}"]
    assert got == [pytest.approx(doc["tputs"][1][3])]  # rows are output lengths: transposed
    # Mélange config, format named; --accelerator is ignored with a warning, not an error
    out2 = tmp_path / "melange.yaml"
    res = cli(["profile", "import", str(DATA / "example.json"), "--format", "melange", "--accelerator", "L4", "--out", str(out2)])
    assert "ignored" in res.stderr
    mel = read_profile(out2)
    assert {m.accelerator for m in mel.measurements} == {m.accelerator for m in import_files([str(DATA / "example.json")], load_catalog()).profile.measurements}
    assert all(m.source == "imported" and m.request_class for m in mel.measurements)


def test_profile_import_refuses_melange_mixed_with_benchmarks(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    vllm = Path(__file__).resolve().parent / "data" / "profile_formats" / "vllm_bench_serve_v0.25.1.json"
    res = cli(["profile", "import", str(vllm), str(DATA / "simulator-llama2-7b-a40.json"), "--accelerator", "H100", "--out", str(tmp_path / "x.yaml")], exit_code=3)
    assert "aibrix file among benchmark results" in res.stderr
    assert not (tmp_path / "x.yaml").exists()


def test_optimize_melange_in_one_process_is_the_imported_plan(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`optimize --melange FILE` plans the config as `import melange` + `optimize` do; only the
    input hashes differ (the config's own, not the files the import would write)."""
    cli(["import", "melange", str(DATA / "example.json"), "--out", str(tmp_path / "imp")])
    two = _optimize(cli, tmp_path / "imp")
    res = cli(["optimize", "--melange", str(DATA / "example.json"), "--out", str(tmp_path / "one"), "--json", "--no-manifests"])
    one = json.loads(res.stdout)
    for doc in (one, two):
        for key in ("metadata", "solve_seconds", "solve_stats", "files"):
            doc.pop(key)
    assert one == two
    first = (tmp_path / "one" / "plan.yaml").read_text(encoding="utf-8")
    cli(["optimize", "--melange", str(DATA / "example.json"), "--out", str(tmp_path / "one"), "--no-manifests"])
    assert (tmp_path / "one" / "plan.yaml").read_text(encoding="utf-8") == first  # byte-identical


def test_solve_stats_report_each_solver_run(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli(["optimize", "--melange", str(DATA / "example.json"), "--out", str(tmp_path), "--json", "--no-manifests"])
    st = json.loads(res.stdout)["solve_stats"]
    assert st["candidates"] == 2 and st["windows_solved"] == 1 and st["candidates_unpruned"] == 2
    milp = [r for r in st["runs"] if r["kind"] == "milp"]
    assert milp and milp[0]["status"] == "optimal"
    assert milp[0]["integers"] >= 2 and milp[0]["columns"] > milp[0]["integers"] and milp[0]["rows"] > 0 and milp[0]["nonzeros"] > 0
    assert st["solver_seconds"] == pytest.approx(sum(r["seconds"] for r in st["runs"]), abs=1e-3)
    assert 0 < st["solver_seconds"] <= st["plan_seconds"]
    assert st["solver_cpu_seconds"] == pytest.approx(sum(r["cpu_seconds"] for r in st["runs"]), abs=1e-3)


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["optimize"], 2, "give a spec file or --melange"),
        (["optimize", "spec.yaml", "--melange", "x.json"], 2, "give a spec file or --melange"),
        (["optimize", "--melange", "DATA/simulator-llama2-7b-a40.json"], 3, "not a Mélange config"),
        (["optimize", "--melange", "DATA/missing.json"], 3, "not found"),
        # two options that cannot be combined: 2 (it was 3)
        (["optimize", "--melange", "DATA/example.json", "--catalog", "c.yaml"], 2, "--catalog: does not apply"),
    ],
)
def test_optimize_melange_bad_input(cli, tmp_path: Path, args: list[str], code: int, needle: str) -> None:  # type: ignore[no-untyped-def]
    args = [a.replace("DATA", str(DATA)) for a in args] + ["--out", str(tmp_path / "o")]
    res = cli(args, exit_code=code)
    assert needle in res.stdout + res.stderr
    assert not (tmp_path / "o").exists()


def test_distribution_not_summing_to_1_keeps_melanges_bucket_rates(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Mélange's solver plans workload_distribution[i][j] x total_request_rate per bucket, with no
    normalisation: a distribution summing to 2 is twice the load. The import used to normalise
    the shares and keep the rate (a silently halved problem); now the per-bucket rates are
    Mélange's, and a note says so."""
    cfg = json.loads((DATA / "example.json").read_text())
    cfg["workload_distribution"] = [[2 * x for x in row] for row in cfg["workload_distribution"]]
    f = tmp_path / "doubled.json"
    f.write_text(json.dumps(cfg))
    res = cli(["import", "melange", str(f), "--out", str(tmp_path / "o")])
    spec, _ = read_spec(tmp_path / "o" / "spec.yaml")
    assert spec.traffic.peak_rps == pytest.approx(60.0)
    assert [c.share for c in spec.traffic.classes] == pytest.approx([0.2, 0.1, 0.5, 0.2])
    assert "workload_distribution sums to 2" in res.stdout + res.stderr


def test_import_melange_checks_out_first_then_writes_three_files(tmp_path: Path) -> None:
    from scaleplan.errors import OptionError
    from scaleplan.importers.melange import import_melange

    with pytest.raises(OptionError) as err:  # before the (missing) file is read
        import_melange([str(tmp_path / "none.json")], " ", rate=None, name=None, force=False)
    assert err.value.option == "--out"
    config = str(DATA / "example.json")
    res, written = import_melange([config], str(tmp_path / "o"), rate=None, name="svc", force=False)
    assert sorted(Path(w).name for w in written) == ["catalog.yaml", "profile.yaml", "spec.yaml"]
    assert res.spec.metadata.name == "svc"


def test_profile_import_records_the_precision_of_aibrix_tables_too(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """--dtype and --kv-cache-dtype were dropped without a word for Mélange / AIBrix files (the
    --accelerator beside them was said ignored): an AIBrix llama2-7b table then calibrated a
    plan of any precision. Each point records them, as for vLLM and AIPerf results."""
    out = tmp_path / "a.yaml"
    res = cli(["profile", "import", str(DATA / "simulator-llama2-7b-a100.json"), "--dtype", "fp16", "--kv-cache-dtype", "fp8", "--out", str(out)])
    prof = read_profile(out)
    assert prof.metadata.dtype == "fp16" and "dtype" not in res.stderr
    assert {(m.dtype, m.kv_cache_dtype) for m in prof.measurements} == {("fp16", "fp8")}


def test_written_catalogs_leave_empty_node_labels_out(tmp_path: Path) -> None:
    """A row without labels of its own writes no ``node_labels: {}`` (a key 37f4531 added): the
    imported catalog.yaml and a refreshed catalog file stay as before, readable by a scaleplan
    that predates the field (an empty key in every row made them invalid there)."""
    from datetime import UTC, datetime

    from scaleplan.catalog.assemble import catalog_text
    from scaleplan.catalog.files import read_catalog_file
    from scaleplan.importers.melange import import_melange

    out = str(tmp_path / "o")
    import_melange([str(DATA / "example.json")], out, rate=None, name=None, force=False)
    text = (tmp_path / "o" / "catalog.yaml").read_text()
    assert "instance_type: a10g" in text and "node_labels" not in text
    cf = read_catalog_file(tmp_path / "o" / "catalog.yaml")
    assert "node_labels" not in catalog_text(cf, datetime(2026, 12, 6, tzinfo=UTC))
    row = cf.instances[0].model_copy(update={"node_labels": {"pool": "a"}})
    labelled = cf.model_copy(update={"instances": [row]})
    assert "node_labels:\n    pool: a" in catalog_text(labelled, datetime(2026, 12, 6, tzinfo=UTC))
