"""``image-folder`` and ``csv``: tiny PNGs written with PIL, read back through the loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from infoclr.data import FileImageData, decode_image, load_dataset
from infoclr.errors import ConfigError, DataError, InfoclrWarning

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def _png(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (12, 12)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def _three_bands(path: Path) -> Path:
    """48 wide × 16 high: red, green and blue thirds, so a centre crop keeps only green."""
    array = np.zeros((16, 48, 3), dtype=np.uint8)
    array[:, :16] = RED
    array[:, 16:32] = GREEN
    array[:, 32:] = BLUE
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


# ---------------------------------------------------------------------------------------------
# decoding
# ---------------------------------------------------------------------------------------------


def test_decode_resizes_the_shorter_side_and_keeps_the_centre(tmp_path: Path) -> None:
    image = decode_image(_three_bands(tmp_path / "bands.png"), image_size=8)
    assert image.dtype == torch.uint8 and image.shape == (3, 8, 8)
    green = torch.tensor(GREEN, dtype=torch.uint8)[:, None, None]
    assert torch.equal(image[:, :, 1:-1], green.expand(3, 8, 6))
    # The bilinear filter reaches a little past the crop box, so the two edge columns may hold
    # a trace of the neighbouring red and blue bands, never more.
    assert int(image[1].min()) >= 200 and int(image[0].max()) < 64 and int(image[2].max()) < 64


def test_decode_of_a_square_image_is_a_plain_bilinear_resize(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "noise.png"
    Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(path)
    reference = np.asarray(
        Image.open(path).convert("RGB").resize((10, 10), Image.Resampling.BILINEAR)
    )
    assert torch.equal(
        decode_image(path, 10), torch.from_numpy(reference.transpose(2, 0, 1).copy())
    )


def test_decode_grayscale_gives_one_channel_with_pil_luma(tmp_path: Path) -> None:
    image = decode_image(_png(tmp_path / "g.png", (200, 100, 50)), 4, grayscale=True)
    expected = Image.new("RGB", (1, 1), (200, 100, 50)).convert("L").getpixel((0, 0))
    assert image.shape == (1, 4, 4) and int(image.min()) == int(image.max()) == expected


@pytest.mark.parametrize("content", [b"this is not an image", b""])
def test_decode_of_a_corrupt_file_names_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(DataError, match="broken.png") as caught:
        decode_image(path, 8)
    assert "\n" not in str(caught.value)


def test_decode_of_a_truncated_png_is_a_data_error(tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(
        good
    )
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DataError, match="truncated.png"):
        decode_image(truncated, 8)


# ---------------------------------------------------------------------------------------------
# image-folder
# ---------------------------------------------------------------------------------------------


def test_image_folder_labels_follow_sorted_class_folders(tmp_path: Path) -> None:
    _png(tmp_path / "zebra" / "a.png", RED)
    _png(tmp_path / "ant" / "b.png", GREEN)
    _png(tmp_path / "ant" / "nested" / "c.jpg", BLUE)
    _png(tmp_path / "ant" / ".hidden.png", BLUE)
    (tmp_path / "ant" / "notes.txt").write_text("not an image")
    data = load_dataset("image-folder", root=tmp_path, image_size=6)
    assert isinstance(data, FileImageData) and data.in_memory  # small: decoded once, held
    assert data.classes == ["ant", "zebra"]
    assert [p.relative_to(tmp_path).as_posix() for p in data.paths] == [
        "ant/b.png",
        "ant/nested/c.jpg",
        "zebra/a.png",
    ]
    assert data.labels.tolist() == [0, 0, 1]
    image, label, index = data[2]
    assert image.shape == (3, 6, 6) and label == 1 and index == 2
    assert image[:, 0, 0].tolist() == list(RED)
    batch_images, batch_labels, batch_index = next(iter(DataLoader(data, batch_size=3)))
    assert batch_images.shape == (3, 3, 6, 6) and batch_images.dtype == torch.uint8
    assert batch_labels.tolist() == [0, 0, 1] and batch_index.tolist() == [0, 1, 2]


def test_image_folder_split_folders_share_class_ids(tmp_path: Path) -> None:
    _png(tmp_path / "train" / "cat" / "1.png", RED)
    _png(tmp_path / "train" / "dog" / "2.png", GREEN)
    _png(tmp_path / "test" / "dog" / "3.png", BLUE)
    train = load_dataset("image-folder", split="train", root=tmp_path)
    test = load_dataset("image-folder", split="test", root=tmp_path, grayscale=True)
    assert train.classes == test.classes == ["cat", "dog"]
    # The size is read off the images (12 px) when not given; grey because it was asked for.
    assert test.labels.tolist() == [1] and test.channels == 1 and test[0][0].shape == (1, 12, 12)
    assert train.channels == 3 and train.image_size == test.image_size == 12


def test_image_folder_with_only_a_train_folder_refuses_the_test_split(tmp_path: Path) -> None:
    _png(tmp_path / "train" / "cat" / "1.png", RED)
    with pytest.raises(DataError, match="no test/"):
        load_dataset("image-folder", split="test", root=tmp_path)


def test_image_folder_corrupt_image_is_refused_when_the_set_loads(tmp_path: Path) -> None:
    _png(tmp_path / "a" / "ok.png", RED)
    (tmp_path / "a" / "bad.png").write_bytes(b"\x89PNG garbage")
    # Checked up front, so training never starts on a set that fails in its middle.
    with pytest.raises(DataError, match="bad.png"):
        load_dataset("image-folder", root=tmp_path)


def test_image_folder_path_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs root"):
        load_dataset("image-folder")
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("image-folder", root=tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no class sub-folders"):
        load_dataset("image-folder", root=tmp_path / "empty")
    (tmp_path / "text" / "a").mkdir(parents=True)
    (tmp_path / "text" / "a" / "x.txt").write_text("x")
    with pytest.raises(DataError, match="no image files"):
        load_dataset("image-folder", root=tmp_path / "text")
    with pytest.raises(ConfigError, match="image_size"):
        load_dataset("image-folder", root=tmp_path / "text", image_size=0)
    with pytest.raises(ConfigError, match="grayscale"):
        load_dataset("image-folder", root=tmp_path / "text", grayscale="false")


# ---------------------------------------------------------------------------------------------
# csv
# ---------------------------------------------------------------------------------------------


def _manifest(tmp_path: Path, text: str) -> Path:
    _png(tmp_path / "img" / "r.png", RED)
    _png(tmp_path / "img" / "g.png", GREEN)
    _png(tmp_path / "img" / "b.png", BLUE)
    path = tmp_path / "meta" / "manifest.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


MANIFEST = """path,label,striped,size,split
../img/r.png,rose,1,big,train
../img/g.png,fern,0,small,test
../img/b.png,iris,true,big,train
../img/g.png,fern,0,small,train
"""


def test_csv_reads_paths_labels_attributes_and_split(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, MANIFEST.replace(",true,", ",1,"))
    options = dict(
        path=manifest,
        label_column="label",
        attribute_columns=["striped", "size"],
        split_column="split",
        image_size=5,
    )
    train = load_dataset("csv", split="train", **options)
    test = load_dataset("csv", split="test", **options)
    assert train.classes == test.classes == ["fern", "iris", "rose"]  # sorted over all rows
    assert train.labels.tolist() == [2, 1, 0] and test.labels.tolist() == [0]
    assert train.aux["striped"].tolist() == [1, 1, 0]
    assert train.aux["size"].tolist() == [0, 0, 1] and train.aux_classes["size"] == ["big", "small"]
    assert "striped" not in train.aux_classes
    assert train[0][0][:, 2, 2].tolist() == list(RED) and train[0][0].shape == (3, 5, 5)
    assert test[0][0][:, 0, 0].tolist() == list(GREEN)
    held = train.tensors()  # a small set is decoded once and held, item for item
    assert held.shape == (3, 3, 5, 5) and torch.equal(held[0], train[0][0])


def test_csv_integer_labels_are_kept_and_columns_may_be_a_comma_string(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, "path,y,a,b\n../img/r.png,3,0,1\n../img/b.png,1,1,1\n")
    data = load_dataset(
        "csv", path=manifest, label_column="y", attribute_columns="a, b", evaluate_on_train=True
    )
    assert data.labels.tolist() == [3, 1] and data.classes == ["0", "1", "2", "3"]
    assert data.aux["a"].tolist() == [0, 1] and data.aux["b"].tolist() == [1, 1]


def test_csv_without_label_column_is_unlabelled(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, f"path\n{tmp_path / 'img' / 'b.png'}\n")  # absolute path
    data = load_dataset("csv", root=manifest, grayscale=True, evaluate_on_train=True)
    assert data.labels is None and data[0][1] == -1 and data.channels == 1


def test_csv_missing_column_lists_the_columns(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, MANIFEST)
    with pytest.raises(DataError) as caught:
        load_dataset("csv", path=manifest, label_column="class")
    message = str(caught.value)
    assert "'class'" in message and "path, label, striped, size, split" in message
    assert "\n" not in message
    with pytest.raises(DataError, match="'colour'"):
        load_dataset("csv", path=manifest, attribute_columns=["striped", "colour"])


def test_csv_missing_values_list_the_rows(tmp_path: Path) -> None:
    manifest = _manifest(
        tmp_path, "path,label,attr\n../img/r.png,a,1\n../img/g.png,,0\n../img/b.png,b,\n"
    )
    with pytest.raises(DataError, match=r"'label'.*rows 2 \("):
        load_dataset("csv", path=manifest, label_column="label")
    with pytest.raises(DataError, match=r"'attr'.*rows 3 \("):
        load_dataset("csv", path=manifest, attribute_columns=["attr"])


def test_csv_path_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("csv", path=tmp_path / "missing.csv")
    with pytest.raises(ConfigError, match="data_options.path"):
        load_dataset("csv")
    manifest = _manifest(tmp_path, "path\n../img/r.png\n../img/nope.png\n")
    with pytest.raises(DataError, match=r"rows 2;.*nope.png"):
        load_dataset("csv", path=manifest)
    manifest.write_text("path,split\n../img/r.png,train\n")
    with pytest.raises(DataError, match="split == 'test'"):
        load_dataset("csv", split="test", path=manifest, split_column="split")


def test_csv_non_integer_numbers_are_refused(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, "path,score\n../img/r.png,0.5\n")
    with pytest.raises(DataError, match="non-integer"):
        load_dataset("csv", path=manifest, label_column="score")


def test_csv_without_a_split_holds_out_a_stratified_test_split(tmp_path: Path) -> None:
    rows = []
    for i in range(30):
        _png(tmp_path / "img" / f"{i}.png", RED)
        rows.append(f"img/{i}.png,{'abc'[i % 3]}")
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label\n" + "\n".join(rows) + "\n")
    options = dict(path=manifest, label_column="label", test_fraction=0.2, split_seed=3)
    train = load_dataset("csv", split="train", **options)
    test = load_dataset("csv", split="test", **options)
    assert len(train) == 24 and len(test) == 6  # 2 of the 10 rows of each class
    assert sorted(test.labels.tolist()) == [0, 0, 1, 1, 2, 2]
    assert not set(train.paths) & set(test.paths)  # disjoint, and together the whole manifest
    assert len(set(train.paths) | set(test.paths)) == 30
    assert "held-out stratified 0.2" in test.split_note and "split_seed 3" in test.split_note
    assert load_dataset("csv", split="test", **options).paths == test.paths  # reproducible
    other = load_dataset("csv", split="test", **{**options, "split_seed": 4})
    assert other.paths != test.paths


def test_csv_test_manifest_and_evaluate_on_train(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, "path,label\n../img/r.png,rose\n../img/g.png,fern\n")
    test_manifest = tmp_path / "meta" / "test.csv"
    test_manifest.write_text("path,label\n../img/b.png,iris\n../img/g.png,fern\n")
    options = dict(path=manifest, label_column="label", test_path=test_manifest)
    train = load_dataset("csv", split="train", **options)
    test = load_dataset("csv", split="test", **options)
    # Class ids agree between the two files: sorted over both (fern, iris, rose).
    assert train.labels.tolist() == [2, 0] and test.labels.tolist() == [1, 0]
    assert train.classes == test.classes == ["fern", "iris", "rose"]
    with pytest.warns(InfoclrWarning, match="training accuracy"):
        same = load_dataset("csv", split="test", path=manifest, evaluate_on_train=True)
    assert len(same) == 2


def test_csv_grey_images_and_size_are_detected(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    for name in ("a", "b"):
        Image.new("L", (28, 28), 128).save(tmp_path / "img" / f"{name}.png")
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label\nimg/a.png,0\nimg/b.png,1\n")
    data = load_dataset("csv", path=manifest, label_column="label")
    assert data.channels == 1 and data.image_size == 28 and data[0][0].shape == (1, 28, 28)
    forced = load_dataset("csv", path=manifest, label_column="label", grayscale=False)
    assert forced.channels == 3
