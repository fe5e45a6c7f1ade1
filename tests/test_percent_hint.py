"""A fraction field (at most 1) given a percent (``spot.max_fraction: 60``) is refused with the
fraction it likely means, as ``traffic.headroom``'s warning guesses from 2 up (UX trial 34 F5:
'must be at most 1; got 60' named no value)."""

from __future__ import annotations

from pathlib import Path

GOOD = Path(__file__).parent / "data" / "specs" / "good"


def _spec(tmp_path: Path, fraction: str) -> Path:
    text = (GOOD / "spec.yaml").read_text()
    text = text.replace("max_fraction: 0.5", f"max_fraction: {fraction}")
    assert f"max_fraction: {fraction}" in text
    (tmp_path / "profile.yaml").write_text((GOOD / "profile.yaml").read_text())
    out = tmp_path / "spec.yaml"
    out.write_text(text)
    return out


def test_a_percent_in_a_fraction_field_is_named(cli, tmp_path: Path) -> None:
    r = cli(["validate", str(_spec(tmp_path, "60"))], exit_code=3)
    said = " ".join(r.stderr.split())
    assert "placement.spot.max_fraction: must be at most 1; got 60 (did you mean 0.6? the field " \
        "is a fraction (0 to 1), not a percent; at most this share of demand" in said, r.stderr


def test_a_value_just_over_one_gets_no_guess(cli, tmp_path: Path) -> None:
    r = cli(["validate", str(_spec(tmp_path, "1.5"))], exit_code=3)
    assert "must be at most 1; got 1.5" in r.stderr and "did you mean" not in r.stderr
