"""scaleplan.llm loads each public name with its module on first use (issue 20): the spec
checks and the renderer import engine_flags and memory alone."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import scaleplan.llm as llm


@pytest.mark.parametrize("name", llm.__all__)
def test_every_public_name_is_its_modules_own(name: str) -> None:
    module = importlib.import_module(f"scaleplan.llm.{llm._MODULE_OF[name]}")
    assert getattr(llm, name) is getattr(module, name)


def test_the_public_names_are_the_lazy_ones_and_nothing_else_resolves() -> None:
    assert sorted(llm._MODULE_OF) == sorted(llm.__all__)
    with pytest.raises(AttributeError):
        _ = llm.no_such_name
    from scaleplan.llm import perf  # a submodule still imports as one

    assert perf.__name__ == "scaleplan.llm.perf"


def test_the_renderer_and_the_spec_checks_load_no_perf_or_serving() -> None:
    code = "import json, sys, scaleplan.render, scaleplan.spec_checks\n"
    code += "print(json.dumps(sorted(sys.modules)))"
    cmd = [sys.executable, "-c", code]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout
    loaded = {m for m in json.loads(out) if m.startswith("scaleplan.llm")}
    assert "scaleplan.llm.engine_flags" in loaded  # the probe imported what needs it
    assert not loaded & {"scaleplan.llm.perf", "scaleplan.llm.serving"}
