"""validate reports the placement's unknown names beside the schema's problems elsewhere in
one run (UX trial 36, finding 6: a spec with ``headrom`` and ``regions: [us-east1]`` on aws
reported the typo only; the region came after a rerun). The placement's names are checked
on the placement and the flavor validated alone, as the spec reads them (providers
defaulted from the flavor); where the schema's problems touch either section, the names
cannot be known and are not checked (the rest as before). Same format and exit code 3."""

from __future__ import annotations

from pathlib import Path

import pytest
from spec_helpers import GOOD

from scaleplan.errors import SpecError
from scaleplan.validate import validate_spec_file


def _spec(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    text = GOOD.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    (tmp_path / "spec").mkdir(parents=True)
    (tmp_path / "spec" / "profile.yaml").write_text(
        (GOOD.parent / "profile.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    path = tmp_path / "spec" / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


TYPO = ("  headroom: 0.2", "  headrom: 0.2")
REGION = ("regions: [us-east-1, us-west-2]", "regions: [us-east-1, us-east1]")


def _wheres(path: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        validate_spec_file(path)
    return [p.where for p in info.value.problems]


def test_a_typo_and_an_unknown_region_in_one_run(cli, tmp_path: Path) -> None:
    path = _spec(tmp_path, TYPO, REGION)
    res = cli(["validate", str(path)], exit_code=3)
    err = " ".join(res.stderr.split())
    assert "2 problems" in err, res.stderr
    assert "traffic.headrom: unknown key 'headrom'" in err, res.stderr
    assert "placement.regions[1]: unknown region 'us-east1' for providers aws" in err, err
    # as the region alone says it, once the typo is fixed
    alone = _spec(tmp_path / "b", REGION)
    res = cli(["validate", str(alone)], exit_code=3)
    said = " ".join(res.stderr.split())
    region = said[said.index("placement.regions[1]"):]
    assert region in err, (region, err)


def test_providers_defaulted_from_the_flavor(tmp_path: Path) -> None:
    # eks-karpenter: aws; us-east1 has the form of a gcp region
    path = _spec(tmp_path, TYPO, REGION, ("  providers: [aws]\n", ""))
    assert _wheres(path) == ["traffic.headrom", "placement.regions[1]"]
    with pytest.raises(SpecError) as info:
        validate_spec_file(path)
    region = info.value.problems[1]
    # the flavor's aws, not Placement's own default of every cloud ("for providers aws, gcp,
    # azure ... did you mean 'eastus'?")
    assert "for providers aws" in region.message and "gcp" not in region.message, region
    assert "defaults to [aws] from kubernetes.flavor: eks-karpenter" in region.hint, region


@pytest.mark.parametrize(
    "other",
    [
        ("  redundancy: n+1", "  redundancy: n+2"),  # the placement itself
        ("flavor: eks-karpenter", "flavor: eks-karpenterr"),  # the providers' default
        ("  namespace: vision", "  namespace: Vision"),  # anywhere in kubernetes
    ],
    ids=["placement", "flavor", "kubernetes"],
)
def test_names_are_not_checked_where_the_sections_fail(
    tmp_path: Path, other: tuple[str, str]
) -> None:
    path = _spec(tmp_path, TYPO, REGION, other)
    wheres = _wheres(path)
    assert "traffic.headrom" in wheres
    assert not any(w.startswith("placement.regions") for w in wheres), wheres
