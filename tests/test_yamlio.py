"""scaleplan.yamlio: safe bounded reading with line numbers; deterministic atomic writing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from scaleplan.errors import InputError
from scaleplan.yamlio import (
    MAX_DEPTH,
    LineMap,
    atomic_write,
    atomic_write_bytes,
    dump_yaml,
    format_path,
    load_yaml,
    parse_yaml,
    parse_yaml_documents,
    read_text,
    sha256_file,
    sha256_text,
)

TEXT = """\
# comment
a: 1
b:
  c: [1, 2]
  d:
    - x: 1
    - x: 2
      y: 3
"""


def test_line_numbers_of_nested_paths() -> None:
    doc = parse_yaml(TEXT, "t.yaml")
    assert doc.data == {"a": 1, "b": {"c": [1, 2], "d": [{"x": 1}, {"x": 2, "y": 3}]}}
    assert doc.lines.line_of(("a",)) == 2
    assert doc.lines.line_of(("b", "c")) == 4
    assert doc.lines.line_of(("b", "d", 1, "y")) == 8
    # a path that is not in the file falls back to its nearest ancestor
    assert doc.lines.line_of(("b", "d", 1, "nope", "deeper")) == 7
    assert doc.lines.line_of(("zzz",)) == doc.lines.start_line == 2


def test_format_path() -> None:
    assert format_path(("slo", "percentile")) == "slo.percentile"
    assert format_path(("placement", "quotas", 0, "max_gpus")) == "placement.quotas[0].max_gpus"
    assert format_path(()) == ""


def test_multi_document_line_numbers_and_empty_documents_skipped() -> None:
    docs = parse_yaml_documents("a: 1\n---\n---\n# only a comment\n---\nb:\n  c: 2\n", "m.yaml")
    assert [d.data for d in docs] == [{"a": 1}, {"b": {"c": 2}}]
    assert docs[1].lines.line_of(("b", "c")) == 7
    assert docs[1].file == "m.yaml"


def test_expect_mapping_false_allows_lists() -> None:
    assert parse_yaml("- 1\n- 2\n", "l.yaml", expect_mapping=False).data == [1, 2]
    with pytest.raises(InputError, match="is a list, expected a mapping"):
        parse_yaml("- 1\n", "l.yaml")


def test_duplicate_keys_found_at_any_depth() -> None:
    with pytest.raises(InputError) as info:
        parse_yaml("a:\n  b: 1\n  c: 2\n  b: 3\nd: 1\nd: 2\n", "dup.yaml")
    problems = info.value.problems
    assert [(p.where, p.line) for p in problems] == [("a.b", 4), ("d", 6)]


def test_merge_keys_are_not_duplicates() -> None:
    doc = parse_yaml("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n", "m.yaml")
    assert doc.data["other"] == {"x": 1, "y": 2}


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system ['true']\n",
        "a: !!python/object/new:dict {}\n",
        "a: !!python/tuple [1, 2]\n",
        "a: !!binary aGVsbG8=\n!!set {x}\n",
        "a: !Ref x\n",
    ],
)
def test_tags_never_construct_python_objects(text: str) -> None:
    try:
        doc = parse_yaml(text, "t.yaml")
    except InputError as exc:
        assert "not allowed" in str(exc) or "invalid YAML" in str(exc)
    else:  # only standard YAML types may come out
        assert all(isinstance(v, str | bytes | int | float | list | dict | set) for v in doc.data.values())


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    with pytest.raises(InputError, match="alias bomb"):
        parse_yaml("\n".join(lines) + "\n", "bomb.yaml")


def test_moderate_alias_reuse_is_fine() -> None:
    doc = parse_yaml("d: &d {cpu: 1}\nitems: [*d, *d, *d]\n", "ok.yaml")
    assert doc.data["items"] == [{"cpu": 1}] * 3


def test_nesting_limit() -> None:
    ok = "a: " + "[" * (MAX_DEPTH - 5) + "]" * (MAX_DEPTH - 5) + "\n"
    parse_yaml(ok, "ok.yaml")
    with pytest.raises(InputError, match="nesting deeper"):
        parse_yaml("a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n", "deep.yaml")


def test_read_text_limits(tmp_path: Path) -> None:
    p = tmp_path / "f.yaml"
    p.write_text("a: 1\n")
    assert read_text(p) == "a: 1\n"
    with pytest.raises(InputError, match="larger than the 0 MiB limit"):
        read_text(p, max_bytes=2)
    p.write_bytes(b"a: \x00\n")
    with pytest.raises(InputError, match="binary"):
        read_text(p)
    p.write_bytes(b"a: 1\nb: \xe9\n")
    with pytest.raises(InputError) as info:
        read_text(p, what="profile")
    assert info.value.problems[0].line == 2
    assert "profile is not valid UTF-8" in str(info.value)


def test_load_yaml_names_what(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="catalog not found"):
        load_yaml(tmp_path / "x.yaml", what="catalog")


def test_dump_yaml_is_deterministic_and_alias_free() -> None:
    shared = {"k": [1, 2]}
    data = {"z": shared, "a": shared, "text": "line1\nline2\n", "uni": "Zürich ✓", "long": "x" * 300}
    out = dump_yaml(data)
    assert out == dump_yaml(data)
    assert "&" not in out and "*" not in out
    assert "Zürich ✓" in out
    assert out.index("z:") < out.index("a:")  # insertion order kept
    assert "text: |" in out
    assert yaml.safe_load(out) == data


@settings(max_examples=40, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=4),
        max_leaves=20,
    )
)
def test_dump_then_parse_round_trips(value: object) -> None:
    doc = parse_yaml(dump_yaml({"v": value}), "rt.yaml")
    assert doc.data == {"v": value}


def test_atomic_write_replaces_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "plan.yaml"
    atomic_write(target, "one\n")
    atomic_write(target, "two\n")
    assert target.read_text() == "two\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["plan.yaml"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    assert sha256_file(target) == sha256_text("two\n")


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "plan.yaml"
    atomic_write(target, "old\n")

    with pytest.raises(TypeError):  # fails inside the write, after the temporary file exists
        atomic_write_bytes(target, 42)  # type: ignore[arg-type]
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.yaml"]


def test_linemap_default() -> None:
    assert LineMap().line_of(("a",)) == 1


def test_unicode_line_breaks_survive_a_round_trip() -> None:
    # found by the property test above: PyYAML wrote NEL / LS / PS raw, and readers fold them
    data = {"\x85": "a\u2028b", "k": "x\u2029y\nz"}
    assert parse_yaml(dump_yaml(data), "u.yaml").data == data


# -- libyaml's emitter where it writes what PyYAML's does ---------------------------------------

_EDGE = list(" :-#?*&!|>'\"%@`,[]{}.0123456789eEyYnNoOtTfF~é漢\xa0")
_ANY_CHAR = st.characters(max_codepoint=0x10FFFF) | st.sampled_from([*_EDGE, "\n", "\r", "\t", "\x85", "\u2028", "\ufeff", "😀", "\x00"])
_SCALAR = st.one_of(st.text(alphabet=_ANY_CHAR, max_size=12), st.text(alphabet=st.sampled_from(_EDGE), max_size=12), st.integers(), st.floats(), st.booleans(), st.none())
_KEY = st.text(alphabet=_ANY_CHAR, max_size=6) | st.text(alphabet=st.sampled_from(_EDGE), min_size=1, max_size=6)
_DATA = st.recursive(_SCALAR, lambda ch: st.lists(ch, max_size=4) | st.dictionaries(_KEY, ch, max_size=4), max_leaves=16)


def _python_dump(data: object) -> str:
    from scaleplan.yamlio import _Dumper

    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_KEY, _DATA, min_size=1, max_size=4) | st.lists(_DATA, min_size=1, max_size=4))
def test_dump_is_the_pure_python_emitters_text(data: object) -> None:
    """dump_yaml picks libyaml only where the text is the same (checked offline on 30,000
    documents of the strings it accepts); everything else still goes through PyYAML's emitter."""
    assert dump_yaml(data) == _python_dump(data)


def test_c_emitter_is_used_only_for_plain_strings() -> None:
    from scaleplan.yamlio import _c_safe

    assert _c_safe({"a": ["x y: z", 1, 2.5, None, True, "", "é漢"]})
    assert not _c_safe({"a": ("t",)})  # anything but dict, list, str, number, bool, None
    for bad in ({"": 1}, {"a": "x\ny"}, {"a": "😀"}, {"a": "\t"}, {1: "a"}, {"a": "\ufeff"}):
        assert not _c_safe(bad), bad
        assert dump_yaml(bad) == _python_dump(bad)


def test_atomic_write_through_a_symlink_writes_its_target(tmp_path: Path) -> None:
    """``--out link.yaml`` where link.yaml is a symlink replaced the link with a file and left
    its target as it was; the target is written (atomically, in its own folder) and the link
    stays a link, as a shell's ``>`` would leave it. A dangling link's target is created."""
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "profile.yaml"
    target.write_text("old\n")
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    atomic_write(link, "new\n")
    assert link.is_symlink() and target.read_text() == "new\n"
    dangling = tmp_path / "dangling.yaml"
    dangling.symlink_to(tmp_path / "real" / "later.yaml")
    atomic_write(dangling, "made\n")
    assert dangling.is_symlink() and (tmp_path / "real" / "later.yaml").read_text() == "made\n"
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["later.yaml", "profile.yaml"]


@pytest.mark.parametrize(
    ("what", "said"),
    [
        ("spec", "write the spec as a YAML mapping; see docs/spec.md"),
        ("plan", 'scaleplan optimize writes it: run it again; see docs/optimizer.md, "The plan"'),
        ("catalog", 'write the catalog as a YAML mapping; see docs/catalog.md, "File format"'),
        ("profile", "write the profile as a YAML mapping; see docs/profile.md"),
        ("observed", 'scaleplan observe writes it: run it again; see docs/observe.md, "The'),
        ("queries file", 'see docs/observe.md, "The queries"'),
    ],
)
def test_an_empty_file_names_the_page_that_documents_it(what: str, said: str) -> None:
    """An empty file's error ended 'see docs/' without naming the page (UX trial 25, F18)."""
    with pytest.raises(InputError) as exc:
        parse_yaml("# only a comment\n", "x.yaml", what=what)
    text = str(exc.value)
    assert f"{what} is empty" in text and said in text, text
    assert "see docs/)" not in text and "see docs/;" not in text
