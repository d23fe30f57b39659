"""The Python examples of the guides run as written (output folders moved to a temporary one)."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

from infoclr.methods import METHODS

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _blocks(page: str) -> list[str]:
    return BLOCK.findall((DOCS / page).read_text())


@pytest.mark.parametrize("number", range(len(_blocks("guide-methods.md"))))
def test_guide_methods_examples_run(number: int, tmp_path: Path, capsys) -> None:
    code = _blocks("guide-methods.md")[number].replace("/tmp/runs", str(tmp_path / "runs"))
    module = types.ModuleType(f"guide_methods_block_{number}")
    sys.modules[module.__name__] = module  # dataclasses look their module up while defined
    try:
        exec(compile(code, f"guide-methods.md block {number}", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
        METHODS.pop("align-uniform", None)  # the example registers a method; unregister it
    if "pretrain(" in code:
        metrics = (next((tmp_path / "runs").glob("*/metrics.json"))).read_text()
        assert '"uniform_weight": 0.5' in metrics
