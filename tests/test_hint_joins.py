"""Hints built from parts, decided on the parts rather than on the text built: placement.regions
named in another cloud's format (the cloud, and a close name of the spec's providers only when
there is one, never their whole list); a preset name's hint before the preset list."""

from __future__ import annotations

from pathlib import Path

import pytest
from solve_helpers import spec

from scaleplan.catalog.model import Catalog
from scaleplan.precheck import placement_problems
from scaleplan.wording import article


def _hint(tables: Catalog, region: str) -> str:
    (p,) = placement_problems(spec(placement={"providers": ["aws"], "regions": [region]}), tables)
    assert p.where == "placement.regions[0]"
    return p.hint


def test_another_clouds_region_says_so_with_a_close_name_only_when_one_is(tables: Catalog) -> None:
    said = "it is a gcp region name; placement.providers is [aws]"
    assert _hint(tables, "us-central1") == f"{said}; did you mean 'us-east-1'?"
    # no catalog lists it: known by its form alone (UX review 16 F6)
    form = "it has the form of a gcp region name; placement.providers is [aws]"
    assert _hint(tables, "southamerica-east1") == form


def test_the_close_name_is_decided_on_the_matches_not_on_the_hints_wording(
    tables: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """precheck kept unknown_hint's text when it started with 'did you mean': it asks for the
    close names themselves, so the other hint's wording does not decide."""
    import scaleplan.precheck as precheck

    monkeypatch.setattr(precheck, "unknown_hint", lambda *a, **k: "perhaps another region")
    assert _hint(tables, "us-central1").endswith("; did you mean 'us-east-1'?")
    assert "perhaps" not in _hint(tables, "southamerica-east1")


def test_a_preset_hint_joins_its_sentences_by_which_hint_it_is_not_its_last_character() -> None:
    """_preset_hint chose ' ' or '; ' before the preset list by whether the hint ended in '?':
    a question (the close names) is followed by a sentence, anything else by '; '."""
    from scaleplan.llm.arch import _preset_hint, preset_list

    n = len(preset_list())
    listed = f"`scaleplan profile llm --list` shows all {n} presets"
    none = _preset_hint("qqqqqqqqqq", "a config.json path?", "y")
    assert none == f"a config.json path?; {listed}"
    # close names, then how to plan another model (UX trial 25), then the list
    assert _preset_hint("llama-3.1-8c", "x", "y").endswith(f"? If it is another model, y; {listed}")
    assert _preset_hint("llama-3.1-8b-instruct", "x", "y").endswith(f"architecture; {listed}")


@pytest.mark.parametrize(
    ("provider", "region", "close"),
    [("gcp", "europe-west1", "did you mean 'europe-west4'?"), ("azure", "westeurope", "")],
)
def test_a_real_looking_region_the_catalogs_lack_names_the_catalog_fix(
    tables: Catalog, provider: str, region: str, close: str
) -> None:
    """UX review 10: a GKE user in europe-west1 read "did you mean 'europe-west4'?" as a typo;
    the shipped gcp and azure catalogs cover two regions each, so the hint also says how to
    plan a region they do not cover."""
    sp = spec(placement={"providers": [provider], "regions": [region]})
    (p,) = placement_problems(sp, tables)
    assert p.where == "placement.regions[0]"
    assert close in p.hint
    assert (
        ("did you mean 'europe-west4'? If " if close else "known regions: eastus, westus2; if ")
        + f"{region} is {article(provider)} region the catalogs do not cover, add its "
        "instance types and prices in a catalog of yours (placement.catalogs or --catalog; "
        "docs/catalog.md)"
    ) in p.hint


@pytest.mark.parametrize(
    ("provider", "name", "cloud"),
    [
        ("azure", "a2-highgpu-1g", "gcp"),
        ("azure", "g2-standard-8", "gcp"),
        ("gcp", "Standard_NC24ads_A100_v4", "azure"),
        ("gcp", "g6.xlarge", "aws"),
        ("aws", "n1-standard-4+1xT4", "gcp"),
    ],
)
def test_another_clouds_instance_type_in_exclude_says_so(
    provider: str, name: str, cloud: str
) -> None:
    """UX review 10: `exclude: [g2-standard-8]` in an azure spec got "did you mean
    'Standard_F8s_v2' or 'Standard_E8s_v5'..."; the region check already names the other cloud.
    optimize reads only the spec's providers' catalogs, as here."""
    from scaleplan.catalog.files import load_catalog

    sp = spec(placement={"providers": [provider], "regions": [], "exclude": [name]})
    (p,) = placement_problems(sp, load_catalog(providers=[provider]))
    assert p.where == "placement.exclude[0]"
    said = f"it is {article(cloud)} instance type name; placement.providers is [{provider}]"
    assert p.hint == said


def test_a_region_of_another_clouds_form_only_is_not_called_that_clouds(
    tables: Catalog,
) -> None:
    """'us-central-1' (a gcp spec's typo of us-central1) was 'an aws region name': AWS has no
    such region, the name only has AWS's form, and the hint sent a GCP user to the wrong fix
    (UX review 16 F6). A name known by its form alone says so; the close name still follows."""
    (p,) = placement_problems(
        spec(placement={"providers": ["gcp"], "regions": ["us-central-1"]}), tables
    )
    assert p.hint.startswith("it has the form of an aws region name"), p.hint
    assert p.hint.endswith("did you mean 'us-central1'?"), p.hint


def test_another_clouds_region_under_a_defaulted_provider_names_the_flavor(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UX trial 28: a gke spec naming no providers with `regions: [westus2]` read
    "placement.providers is [gcp]", a line the user never wrote; the providers come from the
    flavor, and the other fix is that cloud's flavor. Written providers keep the plain words."""
    monkeypatch.chdir(tmp_path)
    text = (
        "apiVersion: scaleplan/v1\nkind: InferenceService\nmetadata: {name: chat}\n"
        "model: {architecture: llama-3.1-8b, engine: vllm}\n"
        "traffic:\n  peak_rps: 4\n"
        "  classes: [{name: chat, share: 1.0, input_tokens: 512, output_tokens: 128}]\n"
        "slo: {ttft_ms: 2000, tpot_ms: 60}\n"
        "placement:\n  regions: [westus2]\n"
        "kubernetes: {image: vllm/vllm-openai:v0.11.0, flavor: gke}\n"
    )
    Path("g.yaml").write_text(text, encoding="utf-8")
    err = " ".join(cli(["validate", "g.yaml"], exit_code=3).stderr.split())
    assert (
        "g.yaml:10: placement.regions[0]: unknown region 'westus2' for providers gcp (it has "
        "the form of an azure region name; placement.providers defaults to [gcp] from "
        "kubernetes.flavor: gke (give a gcp region, or set kubernetes.flavor to aks for a "
        "cluster on azure))"
    ) in err, err
    Path("e.yaml").write_text(text.replace("flavor: gke", "flavor: eks"), encoding="utf-8")
    err = " ".join(cli(["validate", "e.yaml"], exit_code=3).stderr.split())
    assert (
        "defaults to [aws] from kubernetes.flavor: eks (give an aws region, or set "
        "kubernetes.flavor to aks for a cluster on azure); did you mean 'us-west-2'?"
    ) in err, err
    written = text.replace("  regions:", "  providers: [gcp]\n  regions:")
    Path("w.yaml").write_text(written, encoding="utf-8")
    err = " ".join(cli(["validate", "w.yaml"], exit_code=3).stderr.split())
    assert "an azure region name; placement.providers is [gcp])" in err, err
