"""The parsed-file cache: a hit gives the same model as parsing, anything odd is a miss."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scaleplan.cache import cache_dir, load_model
from scaleplan.catalog.files import load_catalog, read_catalog_file, shipped_paths
from scaleplan.catalog.model import CatalogFile
from scaleplan.errors import CatalogError
from scaleplan.profile.model import Profile, read_profile

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("SCALEPLAN_CACHE_DIR", str(d))
    monkeypatch.delenv("SCALEPLAN_CACHE", raising=False)
    return d


def _entries(d: Path) -> list[Path]:
    return sorted((d / "parsed").glob("*.json")) if (d / "parsed").is_dir() else []


def _parse_count(parse):  # type: ignore[no-untyped-def]
    calls = []

    def counted(path):  # type: ignore[no-untyped-def]
        calls.append(path)
        return parse(path)

    return counted, calls


def test_hit_equals_parse_for_every_shipped_catalog(cache: Path) -> None:
    from scaleplan.catalog.files import _parse_catalog_path

    for p in shipped_paths():
        parse, calls = _parse_count(_parse_catalog_path)
        first = load_model(p, CatalogFile, parse)
        second = load_model(p, CatalogFile, parse)
        assert calls == [p]  # the second read came from the cache
        assert second == first == _parse_catalog_path(p)
    assert len(_entries(cache)) == len(shipped_paths())


def test_hit_equals_parse_for_example_profiles(cache: Path) -> None:
    from scaleplan.profile.model import _parse_profile_path

    profiles = sorted(ROOT.glob("examples/**/profile*.yaml"))
    assert profiles
    for p in profiles:
        assert read_profile(p) == _parse_profile_path(p)
        parse, calls = _parse_count(_parse_profile_path)
        assert load_model(p, Profile, parse) == _parse_profile_path(p)
        assert calls == []


def test_changed_file_is_read_again_and_bad_input_reports_the_same_error(cache: Path, tmp_path: Path) -> None:
    src = shipped_paths()[1].read_text(encoding="utf-8")
    f = tmp_path / "my.yaml"
    f.write_text(src, encoding="utf-8")
    assert read_catalog_file(f) == read_catalog_file(shipped_paths()[1])
    f.write_text(src.replace("price_ondemand:", "price_ondemand: -1 #", 1), encoding="utf-8")
    with pytest.raises(CatalogError) as first:
        read_catalog_file(f)
    with pytest.raises(CatalogError) as again:
        read_catalog_file(f)
    assert str(first.value) == str(again.value)
    line = 1 + src.splitlines().index(next(t for t in src.splitlines() if "price_ondemand:" in t))
    assert f"my.yaml:{line}: instances[0].price_ondemand" in str(first.value)  # file:line kept
    assert len(_entries(cache)) == 1  # invalid files are never cached


def test_corrupt_or_foreign_entry_is_a_miss(cache: Path) -> None:
    p = shipped_paths()[2]
    good = read_catalog_file(p)
    (entry,) = _entries(cache)
    for junk in (b"", b"{not json", b'{"apiVersion": "scaleplan/v1", "kind": "Catalog"}', b'{"provenance": 1}'):
        entry.write_bytes(junk)
        assert read_catalog_file(p) == good


def test_unwritable_or_disabled_cache_still_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("SCALEPLAN_CACHE_DIR", str(blocker / "sub"))  # parent is a file
    p = shipped_paths()[1]
    assert read_catalog_file(p).instances
    monkeypatch.setenv("SCALEPLAN_CACHE_DIR", str(tmp_path / "off"))
    monkeypatch.setenv("SCALEPLAN_CACHE", "off")
    assert cache_dir() is None
    assert read_catalog_file(p).instances
    assert not (tmp_path / "off").exists()


def test_cache_folder_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SCALEPLAN_CACHE_DIR", raising=False)
    monkeypatch.delenv("SCALEPLAN_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "scaleplan"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "scaleplan"


def test_only_the_providers_asked_for(cache: Path) -> None:
    full = load_catalog()
    for p in shipped_paths():
        assert {r.provider for r in read_catalog_file(p).instances} == {p.stem}  # one provider per file
        only = load_catalog(providers=[p.stem])
        assert only.rows == tuple(r for r in full.rows if r.provider == p.stem)
        assert only.accelerators == full.accelerators
    assert load_catalog(providers=()).rows == ()
    assert os.environ["SCALEPLAN_CACHE_DIR"] == str(cache)


def test_file_digests_are_read_once_and_follow_changes(tmp_path: Path) -> None:
    import hashlib
    import os

    from scaleplan.cache import file_digest
    from scaleplan.yamlio import sha256_file

    f = tmp_path / "catalog.yaml"
    f.write_text("a: 1\n")
    first = sha256_file(f)
    assert first == hashlib.sha256(b"a: 1\n").hexdigest() and file_digest(f) == (first, 5)
    f.write_text("a: 2\n")  # same size, new content: the inode's mtime moves on
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert sha256_file(f) == hashlib.sha256(b"a: 2\n").hexdigest() == file_digest(f)[0]  # type: ignore[index]


REPRICE = """\
apiVersion: scaleplan/v1
kind: Catalog
provenance: {source: EDP 20%}
price_multiplier: 0.8
instances:
- {provider: aws, region: us-east-1, instance_type: c7i.xlarge, family: c7i, vcpus: 4, memory_gib: 8, price_ondemand: 0.1785}
"""


def test_a_cached_repricing_row_keeps_the_spot_price_it_does_not_state(cache: Path, tmp_path: Path) -> None:
    """docs/catalog.md: a later row keeps the spot price, spot median and zones it does not
    state. The cache stored every field, the unstated ones as null, so the second read of the
    same file (a cache hit) stated `price_spot: null`: the first optimize planned c7i.xlarge
    spot at $0.0557/h, the next one (same files) had no spot for it and chose another plan,
    and `catalog list` after it showed '-'."""
    user = tmp_path / "edp.yaml"
    user.write_text(REPRICE)

    def row():  # type: ignore[no-untyped-def]
        cat = load_catalog([user], providers=["aws"])
        return next(r for r in cat.rows if r.key == ("aws", "us-east-1", "c7i.xlarge"))

    first, second = row(), row()  # a miss, then a hit
    assert _entries(cache), "the second read should come from the cache"
    assert first.price_ondemand == pytest.approx(0.1428)
    assert first.price_spot == pytest.approx(0.0557)
    assert second == first
