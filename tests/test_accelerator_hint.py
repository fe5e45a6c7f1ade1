"""An accelerator not in the table: the message says so and how to add it (a catalog of your
own, named in placement.catalogs), and suggests only close names of the same series (UX trial
23 F12: "unknown accelerator 'MI300X' (did you mean 'B300'?)")."""

from __future__ import annotations

from pathlib import Path

from scaleplan.names import unknown_accelerator_hint

ROOT = Path(__file__).resolve().parents[1]
VLLM = ROOT / "tests" / "data" / "profile_formats" / "vllm_bench_serve_v0.25.1.json"
KNOWN = ("T4", "A10G", "L4", "L40S", "A100", "A100-80GB", "H100", "H200", "B200", "B300", "GB200")


def test_no_suggestion_from_another_series() -> None:
    hint = unknown_accelerator_hint("MI300X", KNOWN)
    assert "B300" not in hint and "did you mean" not in hint
    assert "'MI300X' is not in the accelerator table" in hint
    assert "under 'accelerators:' in a catalog of your own" in hint


def test_close_names_of_the_same_series_are_still_suggested() -> None:
    assert unknown_accelerator_hint("L40", KNOWN).startswith("did you mean 'L40S'")
    assert "'A100-80GB'" in unknown_accelerator_hint("A100-80", KNOWN)
    assert "'H100'" in unknown_accelerator_hint("H10", KNOWN)


def test_validate_says_the_accelerator_is_unknown_and_how_to_add_it(cli, tmp_path: Path) -> None:
    text = (ROOT / "examples" / "llm-chat" / "spec.yaml").read_text(encoding="utf-8")
    accs = "  accelerators: [L4, A10G, L40S, A100-80GB, H100]\n"
    assert accs in text
    bad = text.replace(accs, "  accelerators: [MI300X]\n")
    prof = ROOT / "examples/llm-chat/profile.yaml"
    bad = bad.replace("profile: profile.yaml", f"profile: {prof}")
    (tmp_path / "spec.yaml").write_text(bad, encoding="utf-8")
    err = " ".join(cli(["validate", str(tmp_path / "spec.yaml")], exit_code=3).stderr.split())
    assert "unknown accelerator 'MI300X'" in err
    assert "B300" not in err
    assert "not in the accelerator table" in err and "placement.catalogs" in err


def test_every_accelerator_option_gives_the_same_hint(cli, tmp_path: Path) -> None:
    """The options that take accelerator names (catalog list, profile llm, profile estimate)
    used the plain did-you-mean ('MI300X' -> 'B300') or listed every name ('L40' -> 'use one
    of: T4, ...' without L40S first); each now says the name is not in the table and how to
    add it with the command's --catalog, or suggests the same series."""
    prof = str(ROOT / "examples" / "embedding-cpu-gpu" / "profile.yaml")
    runs = {
        "catalog list": ["catalog", "list", "--accelerator", "{}"],
        "profile llm": ["profile", "llm", "llama-3.1-8b", "-a", "{}", "--out", str(tmp_path / "l")],
        "profile estimate": [
            "profile", "estimate", prof, "--accelerators", "{}", "-o", str(tmp_path / "e"),
        ],
        # UX trial 25: profile import kept the plain did-you-mean ('MI300X' -> 'B300')
        "profile import": [
            "profile", "import", str(VLLM), "--accelerator", "{}", "-o", str(tmp_path / "i"),
        ],
    }
    for what, args in runs.items():
        res = cli([a.replace("{}", "MI300X") for a in args], exit_code=2)
        err = " ".join(res.stderr.split())
        assert "unknown accelerator 'MI300X'" in err, (what, err)
        assert "B300" not in err and "did you mean" not in err, (what, err)
        assert "not in the accelerator table" in err and "with --catalog" in err, (what, err)
        res = cli([a.replace("{}", "L40") for a in args], exit_code=2)
        assert "did you mean 'L40S'" in " ".join(res.stderr.split()), (what, res.stderr)
    assert not any(tmp_path.iterdir())  # nothing written


def test_profile_import_takes_an_accelerator_of_your_own_with_catalog(cli, tmp_path: Path) -> None:
    """What the hint says works: the part's specs in a catalog of your own, given with
    --catalog, make profile import take its name (it had no --catalog)."""
    own = tmp_path / "mi.yaml"
    own.write_text(
        "apiVersion: scaleplan/v1\nkind: Catalog\n"
        "provenance: {source: test, build_date: '2026-12-01'}\n"
        "accelerators:\n  - name: MI300X\n    vendor: amd\n    memory_gib: 192\n"
        "instances: []\n",
        encoding="utf-8",
    )
    out = tmp_path / "p.yaml"
    cli([
        "profile", "import", str(VLLM), "--accelerator", "MI300X", "--catalog", str(own),
        "-o", str(out),
    ])
    assert "accelerator: MI300X" in out.read_text(encoding="utf-8")


def test_profile_import_warns_of_a_dtype_the_part_is_not_planned_in(cli, tmp_path: Path) -> None:
    """UX trial 23 F11: `profile import --accelerator A100 --dtype fp8` was taken without a
    word, where `profile llm --dtype fp8 -a A100` is refused and an LLM calibration later
    leaves the points out. Taken (vLLM does serve FP8 checkpoints on Ampere), with a warning
    saying what the points will not do; H100 fp8 draws none."""
    res = cli([
        "profile", "import", str(VLLM), "--accelerator", "A100", "--dtype", "fp8",
        "-o", str(tmp_path / "a.yaml"),
    ])
    err = " ".join(res.stderr.split())
    assert "warning: --dtype fp8 on A100: A100 (Ampere) has no FP8 tensor cores" in err
    assert "an LLM calibration will leave these points out" in err
    assert (tmp_path / "a.yaml").exists()
    res = cli([
        "profile", "import", str(VLLM), "--accelerator", "H100", "--dtype", "fp8",
        "-o", str(tmp_path / "h.yaml"),
    ])
    assert "FP8" not in res.stderr
