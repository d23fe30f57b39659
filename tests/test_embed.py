"""`infoclr embed`: vectors equal to the backbone's features (one image at a time), ids and
labels kept, outputs that `infoclr refine` reads as they are, and refusals that write nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from infoclr.augment import EvalView
from infoclr.cli import main
from infoclr.data import load_dataset
from infoclr.data.embeddings import read_embeddings, read_row_values
from infoclr.embed import EmbedConfig, embed
from infoclr.errors import ConfigError, DataError
from infoclr.saved_run import load_saved_run


def _one_at_a_time(run: Path, images: torch.Tensor) -> np.ndarray:
    """The reference: the run's backbone on one evaluation view at a time."""
    saved = load_saved_run(run)
    backbone, view = saved.backbone(), EvalView(saved.view_config())
    with torch.no_grad():
        return np.stack([backbone(view(image[None]))[0].numpy() for image in images])


def test_parquet_vectors_equal_the_backbone_and_refine_reads_them(
    finished_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "digits.parquet"
    result = embed(EmbedConfig(run=str(finished_run), out=str(out), batch_size=100), False)
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    assert result.rows == len(train) + len(test) == 1797
    table = read_embeddings(out)  # refine's own reader, no options
    assert table.num_rows == 1797 and table.dim == result.dim == 16
    expected = _one_at_a_time(finished_run, torch.cat([train.tensors(), test.tensors()]))
    np.testing.assert_allclose(table.vectors, expected, atol=1e-5)
    assert (
        list(table.ids[:2]) == ["train/0", "train/1"] and table.ids[-1] == f"test/{len(test) - 1}"
    )
    labels = read_row_values("label", table)
    assert list(labels) == [*train.labels.tolist(), *test.labels.tolist()]
    recorded = (tmp_path / "digits.embed.yaml").read_text()
    assert f"run: {finished_run}" in recorded and "rows: 1797" in recorded


def test_npy_with_ids_beside_it_and_refine_runs_on_it(finished_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "test.npy"
    embed(EmbedConfig(run=str(finished_run), out=str(out), split="test"), progress=False)
    vectors = np.load(out)
    test = load_dataset("digits", "test")
    np.testing.assert_allclose(vectors, _one_at_a_time(finished_run, test.tensors()), atol=1e-5)
    ids = pd.read_csv(tmp_path / "test.ids.csv")
    assert list(ids.columns) == ["id", "split", "index", "label"]
    assert ids["label"].tolist() == test.labels.tolist()
    refined = tmp_path / "refined.npy"
    code = main(
        [
            "refine",
            str(out),
            "--out",
            str(refined),
            "--labels",
            str(tmp_path / "test.ids.csv"),
            "--epochs",
            "1",
            "--map-method",
            "none",
        ]
    )
    assert code == 0 and np.load(refined).shape == vectors.shape


def test_image_folder_with_a_weights_file_keeps_file_names(tmp_path: Path) -> None:
    from infoclr.augment import ViewConfig
    from infoclr.models import build_backbone

    for label in ("cat", "dog"):
        (tmp_path / "images" / label).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (10, 12), (30 * i, 90, 200 if label == "cat" else 0)).save(
                tmp_path / "images" / label / f"{i}.png"
            )
    out = tmp_path / "v.parquet"
    config = EmbedConfig(
        weights=str(tmp_path / "w.pt"),
        backbone="smallcnn",
        dataset="image-folder",
        data_root=str(tmp_path / "images"),
        data_options={"image_size": 16},
        out=str(out),
    )
    torch.save(build_backbone("resnet18", 3, 16).export_state_dict(), tmp_path / "w.pt")
    with pytest.raises(DataError, match="none of its"):  # weights of another architecture
        embed(config, progress=False)
    assert not out.exists() and not list(tmp_path.glob("*.embed.yaml"))
    backbone = build_backbone("smallcnn", 3, 16).eval()
    torch.save(backbone.export_state_dict(), tmp_path / "w.pt")
    result = embed(config, progress=False)
    table = read_embeddings(out)
    data = load_dataset("image-folder", root=tmp_path / "images", image_size=16)
    assert result.rows == 6  # no train/ and test/ folders: the images once, not twice
    assert list(table.ids) == [str(path) for path in data.paths]
    view = EvalView(ViewConfig.for_resolution(16, 3))
    with torch.no_grad():
        expected = np.stack([backbone(view(data[i][0][None]))[0].numpy() for i in range(6)])
    np.testing.assert_allclose(table.vectors, expected, atol=1e-5)


def test_existing_output_needs_overwrite(finished_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "v.parquet"
    out.write_text("keep me")
    with pytest.raises(ConfigError, match="already exists"):
        embed(EmbedConfig(run=str(finished_run), out=str(out)), progress=False)
    assert out.read_text() == "keep me"
    embed(EmbedConfig(run=str(finished_run), out=str(out), split="test", overwrite=True), False)
    assert read_embeddings(out).num_rows == len(load_dataset("digits", "test"))
