"""File-backed image sets that fit in memory are decoded once and trained from one tensor, with
the same batches, pixels and indices as streaming them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from infoclr.data import files as file_sets
from infoclr.data.files import image_folder
from infoclr.data.loaders import train_loader
from infoclr.errors import ConfigError


def _folder(root: Path, count: int = 24) -> Path:
    rng = np.random.default_rng(0)
    for i in range(count):
        folder = root / f"class{i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (10, 10), dtype=np.uint8)).save(folder / f"{i}.png")
    return root


def test_the_in_memory_loader_gives_the_streamed_batches(tmp_path: Path, monkeypatch) -> None:
    root = _folder(tmp_path)
    held = image_folder(root=root)
    streamed = image_folder(root=root, in_memory=False)
    assert held.in_memory and not streamed.in_memory and streamed.tensors() is None
    decoded = []
    monkeypatch.setattr(file_sets, "decode_image", lambda *a: decoded.append(1) or real_decode(*a))
    held_epochs = [list(train_loader(held, 8, seed=3)) for _ in range(2)]
    assert len(decoded) == len(held)  # decoded once, for both epochs
    streamed_epoch = list(train_loader(streamed, 8, seed=3))
    assert len(decoded) == len(held) + 3 * 8  # the streamed set decodes every image it serves
    assert len(streamed_epoch) == len(held_epochs[0]) == 3
    for (images, labels, index), (images2, labels2, index2) in zip(
        held_epochs[0], streamed_epoch, strict=True
    ):
        assert torch.equal(images, images2) and images.dtype == torch.uint8
        assert torch.equal(labels, labels2) and torch.equal(index, index2)
    assert torch.equal(held[5][0], streamed[5][0])


real_decode = file_sets.decode_image


def test_a_set_larger_than_the_budget_streams(tmp_path: Path, monkeypatch) -> None:
    root = _folder(tmp_path, count=6)
    monkeypatch.setattr(file_sets, "IN_MEMORY_BYTES", 5 * 100)  # 6 grey 10x10 images: 600 B
    assert not image_folder(root=root).in_memory
    assert image_folder(root=root, in_memory=True).in_memory


def test_in_memory_must_be_a_flag(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="in_memory must be true or false"):
        image_folder(root=_folder(tmp_path, count=3), in_memory="yes")
