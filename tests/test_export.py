"""`infoclr export`: ONNX, TorchScript and state dicts whose outputs equal PyTorch's, checked
here independently of the export's own check, and a model card in the run folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from infoclr.errors import ConfigError
from infoclr.export import ExportConfig, export
from infoclr.saved_run import load_saved_run


@pytest.fixture
def run(finished_run: Path, tmp_path: Path) -> Path:
    """A private copy of the shared run, so that exports do not leak between tests."""
    copy = tmp_path / finished_run.name
    shutil.copytree(finished_run, copy)
    return copy


def _reference(run: Path, batch: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return load_saved_run(run).backbone()(batch)


def test_onnx_matches_pytorch(run: Path) -> None:
    onnxruntime = pytest.importorskip(
        "onnxruntime", reason="onnxruntime is an optional extra: pip install 'infoclr[onnx]'"
    )
    result = export(ExportConfig(run=str(run), format="onnx"))
    assert result.out == run / "backbone.onnx" and result.max_abs_diff <= 1e-4
    session = onnxruntime.InferenceSession(str(result.out), providers=["CPUExecutionProvider"])
    batch = torch.randn(7, 1, 8, 8)
    (features,) = session.run(None, {"images": batch.numpy()})
    assert torch.allclose(torch.from_numpy(features), _reference(run, batch), atol=1e-4)
    card = (run / "model-card.md").read_text()
    for needle in ("`smallcnn`", "`digits`", "`simclr`", "linear probe top-1", "backbone.onnx"):
        assert needle in card, needle


def test_torchscript_and_state_dict(run: Path) -> None:
    batch = torch.randn(3, 1, 8, 8)
    scripted = export(ExportConfig(run=str(run), format="torchscript"))
    loaded = torch.jit.load(str(scripted.out))
    assert torch.allclose(loaded(batch), _reference(run, batch), atol=1e-5)
    plain = export(ExportConfig(run=str(run), format="state-dict"))
    assert plain.max_abs_diff == 0.0
    state = torch.load(plain.out, weights_only=True)
    assert state.keys() == torch.load(run / "backbone.pt", weights_only=True).keys()
    records = json.loads((run / "exports.json").read_text())
    assert [r["format"] for r in records] == ["torchscript", "state-dict"]
    # An existing export is kept unless --overwrite.
    with pytest.raises(ConfigError, match="already exists"):
        export(ExportConfig(run=str(run), format="state-dict"))
    export(ExportConfig(run=str(run), format="state-dict", overwrite=True))
    assert len(json.loads((run / "exports.json").read_text())) == 2


def test_unsupported_format_and_unfinished_run(run: Path, tmp_path: Path) -> None:
    from infoclr.config import load_config

    with pytest.raises(ConfigError, match="format must be one of onnx, torchscript, state-dict"):
        load_config(ExportConfig, None, {"run": str(run), "format": "tflite"})
    (run / "backbone.pt").unlink()
    with pytest.raises(ValueError, match="did not finish"):
        export(ExportConfig(run=str(run), format="state-dict"))
    assert not (run / "model-card.md").exists()
