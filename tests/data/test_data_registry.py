"""The registry: name lookup, option checking, user registration, and ImageData indexing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

import infoclr.data.registry as registry
from infoclr.data import (
    DATASETS,
    ImageData,
    TensorImageData,
    available_datasets,
    load_dataset,
    register_dataset,
)
from infoclr.errors import ConfigError

BUILT_IN = {
    "digits",
    "mnist",
    "fashion-mnist",
    "cifar10",
    "cifar100",
    "stl10",
    "image-folder",
    "csv",
    "shapes",
}


@pytest.fixture
def restore_registry() -> Iterator[None]:
    saved = dict(DATASETS)
    yield
    DATASETS.clear()
    DATASETS.update(saved)


def test_built_in_names_are_registered_and_sorted() -> None:
    names = available_datasets()
    assert BUILT_IN <= set(names)
    assert names == sorted(names)


def test_unknown_name_is_a_config_error_listing_the_names() -> None:
    with pytest.raises(ConfigError) as caught:
        load_dataset("cifar-10")
    message = str(caught.value)
    assert "\n" not in message
    assert "'cifar-10'" in message and "did you mean 'cifar10'" in message
    for name in BUILT_IN:
        assert name in message


@pytest.mark.parametrize("split", ["val", "Train", ""])
def test_unknown_split_is_a_config_error(split: str) -> None:
    with pytest.raises(ConfigError, match="'train' or 'test'"):
        load_dataset("digits", split=split)


def test_unknown_option_is_a_config_error_listing_the_options() -> None:
    with pytest.raises(ConfigError) as caught:
        load_dataset("shapes", nuisanse="background")
    message = str(caught.value)
    assert "'nuisanse'" in message
    assert "nuisance" in message and "image_size" in message


def test_register_passes_only_the_standard_arguments_the_constructor_names(
    restore_registry: None,
) -> None:
    received: dict[str, object] = {}

    @register_dataset("tiny-test-set")
    def tiny(split: str, seed: int, size: int = 4) -> TensorImageData:
        received.update(split=split, seed=seed, size=size)
        images = torch.full((3, 1, size, size), seed, dtype=torch.uint8)
        return TensorImageData(images, name="tiny-test-set", labels=np.array([0, 1, 0]))

    assert "tiny-test-set" in available_datasets()
    data = load_dataset("tiny-test-set", split="test", seed=7, size=5)
    assert received == {"split": "test", "seed": 7, "size": 5}
    assert data.tensors().shape == (3, 1, 5, 5)
    assert int(data[1][0].max()) == 7


def test_register_refuses_a_taken_name_unless_replace(restore_registry: None) -> None:
    def first() -> TensorImageData:
        return TensorImageData(torch.zeros(1, 1, 2, 2, dtype=torch.uint8), name="dup-test-set")

    register_dataset("dup-test-set")(first)
    with pytest.raises(ConfigError, match="already registered"):
        register_dataset("dup-test-set")(lambda: first())
    replacement = register_dataset("dup-test-set", replace=True)(lambda: first())
    assert DATASETS["dup-test-set"] is replacement


def test_constructor_returning_something_else_is_a_config_error(restore_registry: None) -> None:
    register_dataset("bad-test-set")(lambda: [1, 2, 3])
    with pytest.raises(ConfigError, match="not ImageData"):
        load_dataset("bad-test-set")


def test_root_reaches_the_constructor_as_an_expanded_path(restore_registry: None) -> None:
    seen: list[object] = []

    @register_dataset("root-test-set")
    def with_root(root: Path | None = None) -> TensorImageData:
        seen.append(root)
        return TensorImageData(torch.zeros(1, 1, 2, 2, dtype=torch.uint8), name="root-test-set")

    load_dataset("root-test-set", root="~/somewhere")
    assert seen == [Path("~/somewhere").expanduser()]
    assert registry.default_root("cifar10") == Path("~/.cache/infoclr/cifar10").expanduser()


def test_getitem_returns_image_label_and_index() -> None:
    images = torch.arange(4 * 3 * 2 * 2, dtype=torch.uint8).reshape(4, 3, 2, 2)
    labelled = TensorImageData(images, name="t", classes=["a", "b"], labels=np.array([1, 0, 1, 1]))
    image, label, index = labelled[2]
    assert torch.equal(image, images[2]) and label == 1 and index == 2
    assert labelled[-1][2] == 3
    with pytest.raises(IndexError):
        labelled[4]
    unlabelled = TensorImageData(images, name="t")
    assert unlabelled[0][1] == -1
    assert unlabelled.labels is None and unlabelled.classes is None and unlabelled.aux == {}
    assert isinstance(unlabelled, ImageData)
    assert labelled.channels == 3 and labelled.image_size == 2 and labelled.num_classes == 2


def test_imagedata_rejects_malformed_columns() -> None:
    images = torch.zeros(3, 1, 2, 2, dtype=torch.uint8)
    with pytest.raises(ValueError, match="shape"):
        TensorImageData(images, name="t", labels=np.array([0, 1]))
    with pytest.raises(ValueError, match="integers"):
        TensorImageData(images, name="t", aux={"a": np.array([0.5, 1.0, 0.0])})
    with pytest.raises(ValueError, match="uint8"):
        TensorImageData(images.float(), name="t")
    data = TensorImageData(images, name="t", aux={"a": [0, 1, 1]})
    assert data.aux["a"].dtype == np.int64
