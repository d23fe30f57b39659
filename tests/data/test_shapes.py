"""The procedural ``shapes`` set: exact attributes, determinism, the nuisance, and the drawing
itself against a slow point-in-shape reference built from the shapes' vertices."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import chi2_contingency

from infoclr.data import load_dataset, shapes as shapes_module
from infoclr.data.shapes import (
    BACKGROUNDS,
    COLOUR_RGB,
    COLOURS,
    ROTATIONS,
    SCALE_RADIUS,
    SHAPES,
    render_shapes,
)
from infoclr.errors import ConfigError

FACTORS = {
    "shape": 6,
    "colour": 6,
    "scale": 3,
    "rotation": 4,
    "pos_x": 3,
    "pos_y": 3,
    "background": 4,
    "shape_group": 2,
}
BINARY = [
    "is_red",
    "is_warm",
    "is_small",
    "is_large",
    "is_left",
    "is_right",
    "is_top",
    "is_bottom",
    "is_centre",
    "has_corners",
    "is_convex",
    "is_rotated",
    "has_texture",
]


@pytest.fixture(scope="module")
def train_with_nuisance():  # type: ignore[no-untyped-def]
    return load_dataset("shapes", split="train", seed=3, nuisance="background")


# ---------------------------------------------------------------------------------------------
# a slow reference: is a point inside the shape?
# ---------------------------------------------------------------------------------------------


def _rotate(points: list[tuple[float, float]], angle: float) -> list[tuple[float, float]]:
    """Rotate by +angle in image coordinates (x right, y down)."""
    c, s = math.cos(angle), math.sin(angle)
    return [(c * x - s * y, s * x + c * y) for x, y in points]


def _in_convex_polygon(px: float, py: float, vertices: list[tuple[float, float]]) -> bool:
    signs = []
    for (ax, ay), (bx, by) in zip(vertices, vertices[1:] + vertices[:1], strict=True):
        signs.append((bx - ax) * (py - ay) - (by - ay) * (px - ax))
    return all(v >= 0 for v in signs) or all(v <= 0 for v in signs)


def _rectangle(half_x: float, half_y: float) -> list[tuple[float, float]]:
    return [(-half_x, -half_y), (half_x, -half_y), (half_x, half_y), (-half_x, half_y)]


def _inside(shape: str, px: float, py: float, radius: float, angle: float) -> bool:
    """Point (px, py), relative to the shape's centre, inside the rotated shape?"""
    c, s = math.cos(angle), math.sin(angle)
    ux, uy = c * px + s * py, -s * px + c * py  # the point in the shape's own frame
    if shape == "circle":
        return math.hypot(px, py) <= radius
    if shape == "ring":
        return 0.4 * radius <= math.hypot(px, py) <= radius
    if shape == "ellipse":
        return (ux / radius) ** 2 + (uy / (0.55 * radius)) ** 2 <= 1.0
    if shape == "square":
        return _in_convex_polygon(px, py, _rotate(_rectangle(0.8 * radius, 0.8 * radius), angle))
    if shape == "triangle":
        apex_up = [
            (0.0, -radius),
            (radius * math.sqrt(3) / 2, radius / 2),
            (-radius * math.sqrt(3) / 2, radius / 2),
        ]
        return _in_convex_polygon(px, py, _rotate(apex_up, angle))
    if shape == "cross":
        arms = (_rectangle(radius, 0.3 * radius), _rectangle(0.3 * radius, radius))
        return any(_in_convex_polygon(px, py, _rotate(arm, angle)) for arm in arms)
    raise AssertionError(shape)


def _reference_mask(shape: str, scale: int, rotation: int, cx: float, cy: float, size: int):  # type: ignore[no-untyped-def]
    """+1 where every sample within ±0.75 px of the pixel centre is inside, -1 where every one
    is outside, 0 on the boundary (where anti-aliasing may blend)."""
    radius = float(SCALE_RADIUS[scale])
    angle = math.radians(22.5 * rotation)
    pixel = 2.0 / size
    mask = np.zeros((size, size), dtype=np.int64)
    offsets = (-0.75 * pixel, 0.0, 0.75 * pixel)
    for row in range(size):
        for column in range(size):
            x = (column + 0.5) * pixel - 1.0 - cx
            y = (row + 0.5) * pixel - 1.0 - cy
            votes = {
                _inside(shape, x + ox, y + oy, radius, angle) for ox in offsets for oy in offsets
            }
            mask[row, column] = 0 if len(votes) == 2 else (1 if votes == {True} else -1)
    return mask


@pytest.mark.parametrize("shape", SHAPES)
def test_drawing_matches_the_point_in_shape_reference(shape: str) -> None:
    size = 40
    cases = [(2, 1, 0.1, -0.05), (1, 3, -0.5, 0.5), (0, 0, 0.5, 0.0)]  # scale, rotation, cx, cy
    count = len(cases)
    colour = np.array([0, 4, 2])
    images = render_shapes(
        shape=np.full(count, SHAPES.index(shape)),
        colour=colour,
        scale=np.array([case[0] for case in cases]),
        rotation=np.array([case[1] for case in cases]),
        centre_x=np.array([case[2] for case in cases], dtype=np.float32),
        centre_y=np.array([case[3] for case in cases], dtype=np.float32),
        background=np.zeros(count, dtype=np.int64),
        image_size=size,
    )
    assert images.dtype == torch.uint8 and images.shape == (count, 3, size, size)
    interior_checked = 0
    for k, (scale, rotation, cx, cy) in enumerate(cases):
        mask = _reference_mask(shape, scale, rotation, cx, cy, size)
        paint = torch.from_numpy(COLOUR_RGB[colour[k]]).to(torch.uint8)
        pixels = images[k].permute(1, 2, 0)  # (S, S, 3)
        inside, outside = torch.from_numpy(mask == 1), torch.from_numpy(mask == -1)
        interior_checked += int(inside.sum())
        assert (pixels[inside] == paint).all(), f"{shape} case {k}: interior not fully painted"
        assert (pixels[outside] == 0).all(), f"{shape} case {k}: paint outside the shape"
    assert interior_checked >= 20, "the reference found almost no interior: bad test geometry"


# ---------------------------------------------------------------------------------------------
# the data set
# ---------------------------------------------------------------------------------------------


def test_defaults_sizes_and_types() -> None:
    train = load_dataset("shapes", split="train", n=50)
    assert (train.channels, train.image_size, len(train)) == (3, 32, 50)
    assert train.classes == SHAPES and train.tensors().dtype == torch.uint8
    assert train.tensors().shape == (50, 3, 32, 32)
    image, label, index = train[7]
    assert image.shape == (3, 32, 32) and label == train.aux["shape"][7] and index == 7
    assert len(load_dataset("shapes", split="test", image_size=16)) == 2000


def test_attribute_ranges_and_binary_columns(train_with_nuisance) -> None:  # type: ignore[no-untyped-def]
    aux = train_with_nuisance.aux
    assert set(FACTORS) | set(BINARY) <= set(aux)
    assert np.array_equal(train_with_nuisance.labels, aux["shape"])
    for column, levels in FACTORS.items():
        assert aux[column].dtype == np.int64
        assert set(np.unique(aux[column])) == set(range(levels)), column
    for column in BINARY:
        assert set(np.unique(aux[column])) == {0, 1}, column
    for i in range(200):  # the definitions, one sample at a time
        shape, colour = SHAPES[aux["shape"][i]], COLOURS[aux["colour"][i]]
        assert aux["shape_group"][i] == (shape in ("square", "triangle", "cross"))
        assert aux["has_corners"][i] == aux["shape_group"][i]
        assert aux["is_convex"][i] == (shape not in ("ring", "cross"))
        assert aux["is_red"][i] == (colour == "red")
        assert aux["is_warm"][i] == (colour in ("red", "yellow", "magenta"))
        assert aux["is_small"][i] == (aux["scale"][i] == 0)
        assert aux["is_large"][i] == (aux["scale"][i] == 2)
        assert aux["is_left"][i] == (aux["pos_x"][i] == 0)
        assert aux["is_right"][i] == (aux["pos_x"][i] == 2)
        assert aux["is_top"][i] == (aux["pos_y"][i] == 0)
        assert aux["is_bottom"][i] == (aux["pos_y"][i] == 2)
        assert aux["is_centre"][i] == (aux["pos_x"][i] == 1 and aux["pos_y"][i] == 1)
        assert aux["is_rotated"][i] == (aux["rotation"][i] != 0)
        assert aux["has_texture"][i] == (
            BACKGROUNDS[aux["background"][i]] in ("stripes", "checkerboard")
        )
    assert train_with_nuisance.aux_classes["rotation"] == ROTATIONS


def test_images_show_their_attributes(train_with_nuisance) -> None:  # type: ignore[no-untyped-def]
    """Position bin = the painted centroid's third of the image; colour = the painted pixels;
    background = the untouched corner pixels; larger scale = more painted pixels."""
    images, aux = train_with_nuisance.tensors()[:300], train_with_nuisance.aux
    plates = torch.from_numpy(shapes_module._backgrounds(32)).round().to(torch.uint8)
    size = 32
    areas: dict[tuple[int, int], list[int]] = {}
    for i, image in enumerate(images):
        plate = plates[aux["background"][i]]
        painted = (image != plate).any(dim=0)
        rows, columns = torch.nonzero(painted, as_tuple=True)
        assert int(columns.float().mean() * 3 // size) == aux["pos_x"][i]
        assert int(rows.float().mean() * 3 // size) == aux["pos_y"][i]
        solid = (
            image == torch.from_numpy(COLOUR_RGB[aux["colour"][i]]).to(torch.uint8)[:, None, None]
        ).all(0)
        assert solid.sum() > 0
        assert torch.equal(image[:, 0, :3], plate[:, 0, :3])  # the corner is never covered
        areas.setdefault((aux["shape"][i], aux["scale"][i]), []).append(int(painted.sum()))
    for shape in range(len(SHAPES)):
        means = [np.mean(areas[(shape, scale)]) for scale in range(3) if (shape, scale) in areas]
        assert means == sorted(means) and len(means) == 3


def test_deterministic_from_the_seed_and_split() -> None:
    first = load_dataset("shapes", split="train", seed=5, n=300)
    again = load_dataset("shapes", split="train", seed=5, n=300)
    other_seed = load_dataset("shapes", split="train", seed=6, n=300)
    test_split = load_dataset("shapes", split="test", seed=5, n=300)
    assert torch.equal(first.tensors(), again.tensors())
    assert all(np.array_equal(first.aux[c], again.aux[c]) for c in first.aux)
    assert not torch.equal(first.tensors(), other_seed.tensors())
    assert not torch.equal(first.tensors(), test_split.tensors())


def test_a_smaller_set_is_a_prefix_of_a_larger_one() -> None:
    small = load_dataset("shapes", split="test", seed=2, n=50, nuisance="background")
    large = load_dataset("shapes", split="test", seed=2, n=500, nuisance="background")
    assert torch.equal(small.tensors(), large.tensors()[:50])
    assert all(np.array_equal(small.aux[c], large.aux[c][:50]) for c in small.aux)


def test_the_nuisance_changes_only_the_background() -> None:
    plain = load_dataset("shapes", seed=1, n=400)
    noisy = load_dataset("shapes", seed=1, n=400, nuisance="background")
    assert (plain.aux["background"] == 0).all() and (plain.aux["has_texture"] == 0).all()
    assert set(np.unique(noisy.aux["background"])) == {0, 1, 2, 3}
    for column in set(FACTORS) | set(BINARY):
        if column not in ("background", "has_texture"):
            assert np.array_equal(plain.aux[column], noisy.aux[column]), column
    black = torch.from_numpy(noisy.aux["background"] == 0)
    assert torch.equal(plain.tensors()[black], noisy.tensors()[black])
    assert not torch.equal(plain.tensors()[~black], noisy.tensors()[~black])


def test_label_is_independent_of_the_background(train_with_nuisance) -> None:  # type: ignore[no-untyped-def]
    aux = train_with_nuisance.aux
    table = np.zeros((len(SHAPES), len(BACKGROUNDS)), dtype=np.int64)
    np.add.at(table, (aux["shape"], aux["background"]), 1)
    expected = len(train_with_nuisance) / table.size
    assert np.all(np.abs(table - expected) < 0.25 * expected), table
    assert chi2_contingency(table).pvalue > 1e-3


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="nuisance"):
        load_dataset("shapes", nuisance="texture")
    with pytest.raises(ConfigError, match="n must be"):
        load_dataset("shapes", n=0)
    with pytest.raises(ConfigError, match="image_size"):
        load_dataset("shapes", image_size=4)
    with pytest.raises(ConfigError, match="seed"):
        load_dataset("shapes", seed=-1)


def test_the_default_training_split_has_6000_images() -> None:
    # (How fast it generates is measured in benchmarks/, never in a test.)
    data = load_dataset("shapes", split="train", nuisance="background")
    assert len(data) == 6000 and data.tensors().shape[0] == 6000


@pytest.mark.parametrize("shape", SHAPES)
def test_masks_match_the_point_in_shape_reference(shape: str) -> None:
    size = 24
    cases = [(2, 1, 0.1, -0.05), (1, 3, -0.5, 0.5), (0, 0, 0.5, 0.0)]
    count = len(cases)
    kwargs = dict(
        shape=np.full(count, SHAPES.index(shape)),
        colour=np.array([0, 4, 2]),
        scale=np.array([case[0] for case in cases]),
        rotation=np.array([case[1] for case in cases]),
        centre_x=np.array([case[2] for case in cases], dtype=np.float32),
        centre_y=np.array([case[3] for case in cases], dtype=np.float32),
        background=np.array([0, 2, 3]),
        image_size=size,
    )
    images, masks = render_shapes(**kwargs, masks=True)
    assert torch.equal(images, render_shapes(**kwargs))  # masks change no pixel
    assert masks.dtype == torch.uint8 and masks.shape == (count, size, size)
    assert set(masks.unique().tolist()) == {0, SHAPES.index(shape) + 1}
    for k, (scale, rotation, cx, cy) in enumerate(cases):
        reference = torch.from_numpy(_reference_mask(shape, scale, rotation, cx, cy, size))
        assert (masks[k][reference == 1] == SHAPES.index(shape) + 1).all(), f"{shape} case {k}"
        assert (masks[k][reference == -1] == 0).all(), f"{shape} case {k}"


def test_masks_option_keeps_the_images_and_labels_the_shape() -> None:
    plain = load_dataset("shapes", split="test", n=40, image_size=16, nuisance="background")
    with_masks = load_dataset(
        "shapes", split="test", n=40, image_size=16, nuisance="background", masks=True
    )
    assert plain.masks is None and torch.equal(plain.tensors(), with_masks.tensors())
    assert with_masks.mask_classes == ["background", *SHAPES]
    for i in range(40):
        present = set(with_masks.masks[i].unique().tolist())
        assert present <= {0, int(with_masks.labels[i]) + 1} and len(present) == 2
    with pytest.raises(ConfigError, match="masks"):
        load_dataset("shapes", split="test", n=4, masks="yes")
