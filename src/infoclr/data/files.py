"""Image sets that stream from files on disk: ``image-folder`` and ``csv``.

Both decode each image with PIL, convert it to RGB (or grey), and resize it to a square
``image_size`` with a centre crop (shorter side to ``image_size``, then crop the middle), so
that every image in a batch has the same shape. A set whose decoded pixels fit in
:data:`IN_MEMORY_BYTES` (``in_memory=None``, the default) or that is asked to (``in_memory=True``)
is decoded once, on first use, and held as one uint8 tensor: training then gathers whole batches
from it instead of decoding every image every epoch. Otherwise (``in_memory=False``, or a larger
set) each image is decoded when it is indexed and
:meth:`~infoclr.data.base.ImageData.tensors` returns ``None``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

from infoclr.data.base import ImageData
from infoclr.data.registry import register_dataset
from infoclr.errors import ConfigError, DataError, InfoclrWarning

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
)
MAX_ROWS_LISTED = 10
#: With ``in_memory=None``, a set is held in memory when its decoded pixels take at most this.
IN_MEMORY_BYTES = 1 << 30


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _check_image_size(image_size: int) -> int:
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ConfigError(f"image_size must be a positive integer, got {image_size!r}")
    return image_size


def _check_flag(value: bool, name: str) -> bool:
    # A string such as "false" would silently count as true.
    if not isinstance(value, bool | np.bool_):
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    return bool(value)


def decode_image(path: Path, image_size: int, grayscale: bool = False) -> torch.Tensor:
    """Decode one image file to a uint8 ``(C, image_size, image_size)`` tensor, C = 1 or 3.

    EXIF orientation is applied; the image is resized so that its shorter side is
    ``image_size`` and the centre square is kept. Raises :class:`DataError` naming the file when
    it is missing or cannot be decoded.
    """
    if not path.is_file():
        raise DataError(
            f"image file {path} does not exist; restore it or remove it from the data set"
        )
    try:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened)
            image = image.convert("L" if grayscale else "RGB")
            image = ImageOps.fit(image, (image_size, image_size), method=Image.Resampling.BILINEAR)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise DataError(
            f"cannot decode image {path} ({_one_line(error)}); replace or remove that file"
        ) from error
    # np.array copies: PIL's buffer is read-only, and torch warns about wrapping one.
    array = np.array(image, dtype=np.uint8)
    array = array[None] if grayscale else array.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(array))


def check_images(paths: Sequence[Path], what: str) -> None:
    """Open every image once, cheaply (PIL ``verify``: headers and checksums, no pixel
    decode), so that an undecodable file is refused before training starts."""
    for path in paths:
        try:
            with Image.open(path) as opened:
                opened.verify()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
            raise DataError(
                f"cannot decode image {path} listed in {what} ({_one_line(error)}); replace or "
                "remove that file"
            ) from None


_GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "F", "P;L"})


def infer_format(
    paths: Sequence[Path], image_size: int | None, grayscale: bool | None, sample: int = 32
) -> tuple[int, bool]:
    """``image_size`` and ``grayscale`` with ``None`` resolved from the first images: the
    shorter side of the first image, and grey when every sampled image is single-channel."""
    if image_size is not None and grayscale is not None:
        return image_size, grayscale
    modes, sides = set(), []
    for path in list(paths)[:sample]:
        try:
            with Image.open(path) as opened:
                modes.add(opened.mode)
                sides.append(min(opened.size))
        except (OSError, SyntaxError, ValueError):
            continue  # an unreadable file is reported by check_images, which names it
    if image_size is None:
        image_size = sides[0] if sides else 32
    if grayscale is None:
        grayscale = bool(modes) and modes <= _GREY_MODES
    return image_size, grayscale


class FileImageData(ImageData):
    """An :class:`ImageData` of image files (see :func:`decode_image`), held in memory after
    its first use when ``in_memory`` (default: when it fits in :data:`IN_MEMORY_BYTES`).

    Attributes:
        paths: the image file of each item, in item order.
        grayscale: decode to 1 channel instead of 3.
        in_memory: whether :meth:`tensors` decodes the whole set once and keeps it.
    """

    def __init__(
        self,
        paths: Sequence[Path],
        *,
        name: str,
        image_size: int,
        grayscale: bool = False,
        classes: list[str] | None = None,
        labels: np.ndarray | None = None,
        aux: Mapping[str, np.ndarray] | None = None,
        aux_classes: Mapping[str, list[str]] | None = None,
        in_memory: bool | None = None,
    ) -> None:
        super().__init__(
            name=name,
            channels=1 if grayscale else 3,
            image_size=image_size,
            num_items=len(paths),
            classes=classes,
            labels=labels,
            aux=aux,
            aux_classes=aux_classes,
        )
        self.paths = [Path(path) for path in paths]
        self.grayscale = grayscale
        decoded_bytes = len(self.paths) * self.channels * image_size**2
        self.in_memory = decoded_bytes <= IN_MEMORY_BYTES if in_memory is None else in_memory
        self._decoded: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def image(self, index: int) -> torch.Tensor:
        if self._decoded is not None:
            return self._decoded[index]
        return decode_image(self.paths[index], self.image_size, self.grayscale)

    def tensors(self) -> torch.Tensor | None:
        if self.in_memory and self._decoded is None and self.paths:
            # Filled in place: the budget is the peak, not half of it (no list, then a stack).
            size = self.image_size
            decoded = torch.empty((len(self), self.channels, size, size), dtype=torch.uint8)
            for i, path in enumerate(self.paths):
                decoded[i] = decode_image(path, size, self.grayscale)
            self._decoded = decoded
        return self._decoded


# ---------------------------------------------------------------------------------------------
# image-folder
# ---------------------------------------------------------------------------------------------


def _is_hidden(path: Path, below: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(below).parts)


def _class_folders(folder: Path) -> list[str]:
    return sorted(
        entry.name
        for entry in folder.iterdir()
        if entry.is_dir() and not entry.name.startswith(".")
    )


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in IMAGE_EXTENSIONS
        and path.is_file()
        and not _is_hidden(path, folder)
    )


def _split_folder(root: Path, split: str) -> tuple[Path, list[str], dict[str, Path]]:
    """(the folder of ``split``, the class names of both splits, the split folders)."""
    split_folders = {name: root / name for name in ("train", "test") if (root / name).is_dir()}
    if split_folders:
        if split not in split_folders:
            present = next(iter(split_folders))
            raise DataError(
                f"image-folder root {root} has a {present}/ sub-folder but no {split}/; add "
                f"{root / split} or point root at a single folder of class sub-folders"
            )
        folder = split_folders[split]
        class_names = sorted({name for f in split_folders.values() for name in _class_folders(f)})
    else:
        folder = root
        class_names = _class_folders(root)
        if split == "test":
            warnings.warn(
                f"image-folder root {root} has no train/ and test/ sub-folders, so the test split "
                "repeats the training images (linear_top1 is training accuracy); use a CSV "
                "manifest to hold out rows",
                InfoclrWarning,
                stacklevel=2,
            )
    return folder, class_names, split_folders


@register_dataset("image-folder")
def image_folder(
    split: str = "train",
    root: Path | None = None,
    image_size: int | None = None,
    grayscale: bool | None = None,
    in_memory: bool | None = None,
) -> FileImageData:
    """Images in class sub-folders, ``root/<class>/**/<image>``.

    When ``root`` has a ``train/`` or ``test/`` sub-folder, the split reads
    ``root/<split>/<class>/...``; otherwise both splits read ``root`` itself (with a warning for
    ``test``, as it then repeats the training images). Class ids follow the sorted class-folder
    names, taken over both split folders so that the ids agree between splits. Image files are
    recognised by extension (png, jpg, jpeg, bmp, gif, tif, tiff, webp, ppm, pgm, pbm); hidden
    files and folders are skipped.

    ``image_size`` (default: the first image's shorter side) and ``grayscale`` (default: true
    when the images are single-channel) are read from the images when not given. Every image is
    checked to open before training starts. ``in_memory``: decode the set once and hold it
    (default: when its decoded pixels fit in :data:`IN_MEMORY_BYTES`, 1 GiB); ``False`` decodes
    every image at every use.
    """
    image_size = None if image_size is None else _check_image_size(image_size)
    grayscale = None if grayscale is None else _check_flag(grayscale, "grayscale")
    in_memory = None if in_memory is None else _check_flag(in_memory, "in_memory")
    if root is None:
        raise ConfigError(
            "image-folder needs root: pass --root (root=...) pointing at a folder of class "
            "sub-folders"
        )
    if not root.is_dir():
        raise DataError(
            f"image-folder root {root} does not exist or is not a folder; pass the folder that "
            "holds the class sub-folders"
        )
    folder, class_names, split_folders = _split_folder(root, split)
    if not class_names:
        raise DataError(
            f"{folder} has no class sub-folders; put the images in {folder}/<class name>/"
        )
    paths: list[Path] = []
    labels: list[int] = []
    for label, class_name in enumerate(class_names):
        class_folder = folder / class_name
        if not class_folder.is_dir():
            continue
        files = _image_files(class_folder)
        paths.extend(files)
        labels.extend([label] * len(files))
    if not paths:
        raise DataError(
            f"no image files under {folder}/<class>/ (looked for "
            f"{', '.join(sorted(IMAGE_EXTENSIONS))}); check root"
        )
    check_images(paths, str(folder))
    # Both splits read the format off the same images (the training folder's first class).
    sample_root = split_folders.get("train", root)
    sample = next(
        (_image_files(sample_root / c) for c in class_names if (sample_root / c).is_dir()), paths
    )
    image_size, grayscale = infer_format(sample or paths, image_size, grayscale)
    data = FileImageData(
        paths,
        name="image-folder",
        image_size=image_size,
        grayscale=grayscale,
        classes=class_names,
        labels=np.asarray(labels, dtype=np.int64),
        in_memory=in_memory,
    )
    data.split_note = (
        f"the {split}/ sub-folder" if split_folders else "root itself (test = train: no split)"
    )
    return data


# ---------------------------------------------------------------------------------------------
# csv
# ---------------------------------------------------------------------------------------------


def _row_list(positions: np.ndarray) -> str:
    """1-based data-row numbers (header not counted), at most ``MAX_ROWS_LISTED`` of them."""
    rows = [str(int(position) + 1) for position in positions[:MAX_ROWS_LISTED]]
    more = len(positions) - MAX_ROWS_LISTED
    return ", ".join(rows) + (f" and {more} more" if more > 0 else "")


def _encode_column(
    values: object, column: str, csv_path: Path
) -> tuple[np.ndarray, list[str] | None]:
    """Encode a pandas column as int64 ids, ``-1`` where a value is missing.

    Booleans become 0/1; integer-valued numbers are kept as they are (they must be >= 0);
    anything else is categorical, numbered by its sorted string values, and those strings are
    returned as the names. The encoding uses every row of the file, so the ids agree between
    splits of the same file.
    """
    import pandas as pd

    series: pd.Series = values  # type: ignore[assignment]
    present = series.notna().to_numpy()
    codes = np.full(len(series), -1, dtype=np.int64)
    kept = series[present]
    if pd.api.types.is_bool_dtype(kept.dtype):
        codes[present] = kept.to_numpy().astype(np.int64)
        return codes, None
    if pd.api.types.is_numeric_dtype(kept.dtype):
        numbers = kept.to_numpy().astype(np.float64)
        if not np.all(np.isfinite(numbers)) or not np.all(numbers == np.rint(numbers)):
            raise DataError(
                f"column {column!r} of {csv_path} holds non-integer numbers; use integer ids or "
                "category names"
            )
        if numbers.size and numbers.min() < 0:
            bad = np.flatnonzero(present)[numbers < 0]
            raise DataError(
                f"column {column!r} of {csv_path} has negative values on data rows "
                f"{_row_list(bad)}; use ids >= 0"
            )
        codes[present] = numbers.astype(np.int64)
        return codes, None
    strings = kept.astype(str).str.strip()
    names = sorted(set(strings))
    index = {name: position for position, name in enumerate(names)}
    codes[present] = strings.map(index).to_numpy(dtype=np.int64)
    return codes, names


def _parse_columns(columns: Sequence[str] | str | None) -> list[str]:
    if columns is None:
        return []
    if isinstance(columns, str):
        return [column.strip() for column in columns.split(",") if column.strip()]
    return [str(column) for column in columns]


def _manifest_path(path: str | Path | None, root: Path | None) -> Path:
    if path is None and root is None:
        raise ConfigError("csv needs the manifest: set data_options.path (or --data-root FILE.csv)")
    if path is None:
        return Path(root)  # type: ignore[arg-type]
    csv_path = Path(path).expanduser()
    if not csv_path.is_absolute() and root is not None and root.is_dir():
        csv_path = root / csv_path
    return csv_path


def _read_manifest(csv_path: Path, columns: dict[str, str | None]) -> Any:
    import pandas as pd

    if csv_path.is_dir():
        raise DataError(f"CSV manifest {csv_path} is a folder; give the .csv file")
    if not csv_path.is_file():
        raise DataError(f"CSV manifest {csv_path} does not exist; check the path")
    try:
        frame = pd.read_csv(csv_path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as error:
        raise DataError(
            f"cannot parse CSV manifest {csv_path} ({_one_line(error)}); fix the file"
        ) from error
    frame.columns = [str(column).strip() for column in frame.columns]
    missing = [c for c in columns.values() if c is not None and c not in frame.columns]
    if missing:
        raise DataError(
            f"CSV manifest {csv_path} has no column {', '.join(map(repr, missing))}; "
            f"its columns are: {', '.join(frame.columns)}"
        )
    if frame.empty:
        raise DataError(f"CSV manifest {csv_path} has no rows; add one row per image")
    return frame


def _held_out(groups: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean (N,) mask of a stratified random test split: round(fraction · n_g) rows of
    every group g (at least one row in all, never every row)."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(groups), dtype=bool)
    for group in np.unique(groups):
        members = rng.permutation(np.flatnonzero(groups == group))
        test[members[: int(round(fraction * len(members)))]] = True
    if not test.any():
        test[rng.integers(len(groups))] = True
    if test.all():
        test[rng.integers(len(groups))] = False
    return test


def _split_rows(frame: Any, split: str, options: dict[str, Any], groups: np.ndarray) -> tuple:
    """(rows of ``frame`` in ``split``, a sentence saying how the split was made)."""
    column, fraction, seed = options["split_column"], options["test_fraction"], options["seed"]
    if options["evaluate_on_train"]:
        if split == "test":
            warnings.warn(
                "evaluate_on_train=true: the test split repeats the training rows, so "
                "linear_top1 and knn_top1 are training accuracy",
                InfoclrWarning,
                stacklevel=3,
            )
        return np.arange(len(frame)), "evaluate_on_train: test = the training rows"
    if column is not None:
        keep = (frame[column].astype(str).str.strip() == split).to_numpy()
        if not keep.any():
            found = sorted(frame[column].dropna().astype(str).str.strip().unique())[:10]
            raise DataError(
                f"no rows of the manifest have {column} == {split!r} (values there: "
                f"{', '.join(found)}); use 'train' and 'test' in that column"
            )
        return np.flatnonzero(keep), f"split column {column!r}"
    if options["test_path"] is not None:
        return np.arange(len(frame)), "test rows from test_path"
    if len(frame) < 2:
        raise DataError(
            "a manifest of one row cannot hold out a test split; add rows, a split_column or "
            "a test_path"
        )
    test = _held_out(groups, fraction, seed)
    note = (
        f"held-out stratified {fraction:g} of {len(frame)} rows (test_fraction, split_seed "
        f"{seed}): {int((~test).sum())} train / {int(test.sum())} test"
    )
    return np.flatnonzero(test if split == "test" else ~test), note


def _encoded_columns(
    frame: Any, columns: list[str | None], csv_path: Path
) -> dict[str, tuple[np.ndarray, list[str] | None]]:
    """Each named column encoded over every row (whichever split is being loaded), with a
    one-line error for missing values."""
    codes = {c: _encode_column(frame[c], c, csv_path) for c in columns if c}
    for column, (values, _) in codes.items():
        missing_rows = np.flatnonzero(values < 0)
        if missing_rows.size:
            raise DataError(
                f"column {column!r} of {csv_path} has missing values on data rows "
                f"{_row_list(missing_rows)} (1 = first row after the header); fill or drop them"
            )
    return codes


def _frames(csv_path: Path, test_path: str | Path | None, root: Path | None, columns: dict) -> Any:
    """The manifest's rows, with the test manifest's appended when there is one; ``_file`` is
    0 or 1 (which file), ``_base`` the folder its paths resolve against."""
    import pandas as pd

    frame = _read_manifest(csv_path, columns).assign(_file=0, _base=str(csv_path.parent))
    if test_path is None:
        return frame
    test_csv = _manifest_path(test_path, root if root is not None else csv_path.parent)
    test_frame = _read_manifest(test_csv, columns).assign(_file=1, _base=str(test_csv.parent))
    # One frame, so that class and attribute ids agree between the splits.
    return pd.concat([frame, test_frame], ignore_index=True)


@register_dataset("csv")
def csv_manifest(
    split: str = "train",
    root: Path | None = None,
    path: str | Path | None = None,
    path_column: str = "path",
    label_column: str | None = None,
    attribute_columns: Sequence[str] | str | None = None,
    image_size: int | None = None,
    grayscale: bool | None = None,
    split_column: str | None = None,
    test_path: str | Path | None = None,
    test_fraction: float = 0.2,
    split_seed: int = 0,
    evaluate_on_train: bool = False,
    in_memory: bool | None = None,
) -> FileImageData:
    """Images listed in a CSV manifest, one row per image.

    Args:
        path: the CSV file. A relative path resolves against ``root`` when given; ``root`` may
            also name the CSV file itself when ``path`` is omitted.
        path_column: the column with image paths; relative paths resolve against the CSV's
            folder.
        label_column: the class column (integers >= 0 kept as they are, anything else numbered
            by sorted value), or ``None`` for an unlabelled set.
        attribute_columns: columns copied into ``aux`` (a list, or one comma-separated string),
            encoded like the label column; use 0/1 or true/false for binary attributes.
        image_size: the square side the images are resized and centre-cropped to (default: the
            first image's shorter side).
        grayscale: decode to 1 channel instead of 3 (default: true when the images are grey).
        split_column: when given, only rows whose value in this column equals ``split`` are
            kept.
        test_path: a second manifest whose rows are the test split (same columns).
        test_fraction, split_seed: without a split column or a test manifest, this fraction of
            the rows (stratified by label) is held out for testing, chosen with this seed.
        evaluate_on_train: evaluate on the training rows instead (a warning says so).
        in_memory: decode the set once and hold it (default: when its decoded pixels fit in
            :data:`IN_MEMORY_BYTES`, 1 GiB); ``False`` decodes every image at every use.

    Raises :class:`DataError` for a missing file or column (listing the columns there are), a
    missing value in the label or an attribute column (listing the rows), or a listed image
    that does not exist or cannot be decoded.
    """
    image_size = None if image_size is None else _check_image_size(image_size)
    grayscale = None if grayscale is None else _check_flag(grayscale, "grayscale")
    evaluate_on_train = _check_flag(evaluate_on_train, "evaluate_on_train")
    in_memory = None if in_memory is None else _check_flag(in_memory, "in_memory")
    if not 0.0 < float(test_fraction) < 1.0:
        raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction}")
    attributes = _parse_columns(attribute_columns)
    columns = {"path": path_column, "label": label_column, "split": split_column}
    columns.update({f"attribute {column!r}": column for column in attributes})
    csv_path = _manifest_path(path, root)
    use_test_file = test_path is not None and split_column is None and not evaluate_on_train
    frame = _frames(csv_path, test_path if use_test_file else None, root, columns)
    keep_file = 1 if use_test_file and split == "test" else 0
    codes = _encoded_columns(frame, [label_column, *attributes], csv_path)
    groups = codes[label_column][0] if label_column else np.zeros(len(frame), dtype=np.int64)
    in_file = np.flatnonzero(frame["_file"].to_numpy() == keep_file)
    options = dict(
        split_column=split_column,
        test_fraction=float(test_fraction),
        seed=int(split_seed),
        evaluate_on_train=evaluate_on_train,
        test_path=test_path,
    )
    picked, note = _split_rows(frame.iloc[in_file], split, options, groups[in_file])
    rows = in_file[picked]
    if image_size is None or grayscale is None:
        # Both splits read the format off the same images: the first rows of the manifest.
        first = [Path(frame["_base"].iat[i]) / str(frame[path_column].iat[i]).strip()
                 for i in range(min(32, len(frame)))]  # fmt: skip
        image_size, grayscale = infer_format(
            [p for p in first if p.is_file()], image_size, grayscale
        )
    return _manifest_images(frame, rows, csv_path, codes, path_column, label_column,
                            attributes, image_size, grayscale, note, in_memory)  # fmt: skip


def _manifest_images(
    frame: Any,
    rows: np.ndarray,
    csv_path: Path,
    codes: dict[str, tuple[np.ndarray, list[str] | None]],
    path_column: str,
    label_column: str | None,
    attributes: list[str],
    image_size: int | None,
    grayscale: bool | None,
    note: str,
    in_memory: bool | None,
) -> FileImageData:
    def selected(column: str) -> tuple[np.ndarray, list[str] | None]:
        values, names = codes[column]
        return values[rows], names

    labels: np.ndarray | None = None
    classes: list[str] | None = None
    if label_column is not None:
        labels, names = selected(label_column)
        classes = names if names is not None else [str(i) for i in range(int(labels.max()) + 1)]
    aux: dict[str, np.ndarray] = {}
    aux_classes: dict[str, list[str]] = {}
    for column in attributes:
        aux[column], names = selected(column)
        if names is not None:
            aux_classes[column] = names
    path_values = frame[path_column]
    missing_paths = np.flatnonzero(path_values.isna().to_numpy())
    if missing_paths.size:
        raise DataError(
            f"column {path_column!r} of {csv_path} is empty on data rows "
            f"{_row_list(missing_paths)}; fill or drop them"
        )
    bases = frame["_base"].to_numpy()
    every = [
        Path(b) / Path(str(v).strip()).expanduser() for b, v in zip(bases, path_values, strict=True)
    ]
    absent = [row for row, file in enumerate(every) if not file.is_file()]
    if absent:  # checked over every row, whichever split is being loaded
        raise DataError(
            f"{len(absent)} image(s) listed in {csv_path} do not exist (data rows "
            f"{_row_list(np.asarray(absent))}; first: {every[absent[0]]}); fix {path_column!r}, "
            "which resolves against the CSV's folder"
        )
    paths = [every[row] for row in rows]
    check_images(paths, str(csv_path))
    image_size, grayscale = infer_format(paths, image_size, grayscale)
    data = FileImageData(
        paths,
        name="csv",
        image_size=image_size,
        grayscale=grayscale,
        classes=classes,
        labels=labels,
        aux=aux,
        aux_classes=aux_classes,
        in_memory=in_memory,
    )
    data.split_note = note
    return data
