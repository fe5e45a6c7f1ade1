"""tools/ruff_offenders.py --write is a ratchet (issue 12): it writes a list whose counts went
down, and refuses one that adds a file, raises a file's long-line count or adds (or makes more
complex) a function over the complexity limit, unless --allow-increase is given."""

from __future__ import annotations

from pathlib import Path

from conftest import load_script

ROOT = Path(__file__).resolve().parents[1]
TOOL = load_script(ROOT / "tools" / "ruff_offenders.py")


def _block(*entries: str) -> str:
    return TOOL.BEGIN + TOOL.HEADER + "".join(e + "\n" for e in entries)


A5 = '"scaleplan/a.py" = ["E501"]  # E501: 5 lines'
A6 = '"scaleplan/a.py" = ["E501"]  # E501: 6 lines'
A4 = '"scaleplan/a.py" = ["E501"]  # E501: 4 lines'
B = '"scaleplan/b.py" = ["C901", "E501"]  # C901: run 17, check 16; E501: 2 lines'


def _pyproject(tmp_path: Path, block: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(f"[tool.x]\n{block}{TOOL.END}\nafter = 1\n", encoding="utf-8")
    return path


def test_the_real_list_parses_whole() -> None:
    text = TOOL.current((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    entries = [line for line in text.splitlines() if line.startswith('"')]
    assert len(TOOL.listed(text)) == len(entries) > 0
    assert TOOL.increases(text, text) == []


def test_increases_names_each() -> None:
    old = _block(A5, B)
    assert TOOL.increases(old, _block(A4)) == []  # lower, and a file off the list
    b2 = B.replace("run 17", "run 18").replace("check 16", "check 16, new 20")
    assert TOOL.increases(old, _block(A6, b2, '"tools/c.py" = ["E501"]  # E501: 1 lines')) == [
        "scaleplan/a.py: long lines 5 -> 6",
        "scaleplan/b.py: new's complexity 20, not listed before",
        "scaleplan/b.py: run's complexity 17 -> 18",
        "tools/c.py: added to the list",
    ]


def test_write_refuses_a_raised_count(tmp_path: Path, capsys) -> None:
    path = _pyproject(tmp_path, _block(A5, B))
    before = path.read_text(encoding="utf-8")
    assert TOOL.main(["--write"], path, _block(A6, B)) == 1
    assert path.read_text(encoding="utf-8") == before
    err = capsys.readouterr().err
    assert "scaleplan/a.py: long lines 5 -> 6" in err and "--allow-increase" in err
    assert TOOL.main(["--write", "--allow-increase"], path, _block(A6, B)) == 0
    assert path.read_text(encoding="utf-8") == f"[tool.x]\n{_block(A6, B)}{TOOL.END}\nafter = 1\n"


def test_write_takes_a_lower_count(tmp_path: Path) -> None:
    path = _pyproject(tmp_path, _block(A5, B))
    assert TOOL.main(["--write"], path, _block(A4)) == 0
    assert path.read_text(encoding="utf-8") == f"[tool.x]\n{_block(A4)}{TOOL.END}\nafter = 1\n"
