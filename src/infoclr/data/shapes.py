"""``shapes``: a procedural, dSprites-like image set with exact attributes at several granularities.

Each image shows one shape on a background. Every generative factor is drawn independently and
uniformly, and is recorded exactly, so the set can test code paths that need attributes,
hierarchies or nuisance variables with known ground truth (Matthey et al., 2017, "dSprites";
Tsai et al., 2022, "Learning Weakly-Supervised Contrastive Representations", for clusters from
attributes; Tsai et al., 2021, "Self-supervised Learning from a Multi-view Perspective", for
task-irrelevant "superfluous" information).

Factors (``aux`` columns, all int64):

============  ======  ===================================================================
column        values  meaning
============  ======  ===================================================================
shape         6       circle, ellipse, ring, square, triangle, cross (also the label)
shape_group   2       round (circle, ellipse, ring) / angular (square, triangle, cross)
colour        6       red, yellow, green, cyan, blue, magenta
scale         3       small, medium, large
rotation      4       0, 22.5, 45, 67.5 degrees (invisible on the circle and the ring)
pos_x, pos_y  3 each  left/centre/right and top/middle/bottom of a 3×3 grid, with jitter
background    4       black, grey, stripes, checkerboard; always 0 (black) unless
                      ``nuisance="background"``
============  ======  ===================================================================

Binary 0/1 columns derived from them: ``is_red``, ``is_warm`` (red, yellow, magenta),
``is_small``, ``is_large``, ``is_left``, ``is_right``, ``is_top``, ``is_bottom``,
``is_centre``, ``has_corners`` (angular), ``is_convex`` (not the ring or the cross),
``is_rotated`` (rotation > 0) and ``has_texture`` (stripes or checkerboard).

The background fills the whole image, so crops and flips keep it: it is a nuisance that
augmentations do not remove, drawn independently of the label.

With ``masks=True`` the set also carries per-pixel segmentation targets (``data.masks``,
uint8 (N, S, S)): 0 where the pixel centre lies outside the shape, 1 + shape id where it lies
inside (the signed distance at the pixel centre is <= 0, i.e. the pixel is at least half
covered). They are a deterministic function of the drawn factors and consume no randomness,
so the images are the same with and without them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from infoclr.data.base import TensorImageData
from infoclr.data.registry import register_dataset
from infoclr.errors import ConfigError

SHAPES = ["circle", "ellipse", "ring", "square", "triangle", "cross"]
SHAPE_GROUPS = ["round", "angular"]
SHAPE_GROUP_OF = np.array([0, 0, 0, 1, 1, 1], dtype=np.int64)
CONVEX_SHAPES = np.array([1, 1, 0, 1, 1, 0], dtype=np.int64)
COLOURS = ["red", "yellow", "green", "cyan", "blue", "magenta"]
COLOUR_RGB = np.array(
    [[230, 40, 40], [230, 215, 40], [40, 200, 60], [40, 210, 220], [50, 80, 235], [215, 50, 215]],
    dtype=np.float32,
)
WARM_COLOURS = np.array([1, 1, 0, 0, 0, 1], dtype=np.int64)
SCALES = ["small", "medium", "large"]
# Shape radius as a fraction of the half image side; the largest shape, rotated, at the edge
# of the grid with the most jitter still fits inside the image.
SCALE_RADIUS = np.array([0.20, 0.28, 0.36], dtype=np.float32)
ROTATIONS = ["0deg", "22.5deg", "45deg", "67.5deg"]
ROTATION_RADIANS = np.deg2rad(np.array([0.0, 22.5, 45.0, 67.5], dtype=np.float32))
POSITIONS_X = ["left", "centre", "right"]
POSITIONS_Y = ["top", "middle", "bottom"]
GRID_CENTRES = np.array([-0.5, 0.0, 0.5], dtype=np.float32)
POSITION_JITTER = 0.06
BACKGROUNDS = ["black", "grey", "stripes", "checkerboard"]
NUISANCES = ("none", "background")
#: The 0/1 attribute columns in ``aux`` (the inputs of top-k attribute clustering); the factor
#: columns, ``shape_group`` among them, are not listed here.
BINARY_ATTRIBUTES = (
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
)
DEFAULT_SIZE = {"train": 6000, "test": 2000}
SPLIT_STREAM = {"train": 0, "test": 1}
# Images per drawing chunk = this many pixels / S²: about 8 MB per float32 temporary at any S.
PIXELS_PER_CHUNK = 2**21
MIN_IMAGE_SIZE = 8

SignedDistance = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _box(x: np.ndarray, y: np.ndarray, half_x: np.ndarray, half_y: np.ndarray) -> np.ndarray:
    # The max of the per-axis distances is exact inside and on the sides; only the corner
    # regions outside are approximate, which only softens the anti-aliased corners slightly.
    return np.maximum(np.abs(x) - half_x, np.abs(y) - half_y)


def _circle(x: np.ndarray, y: np.ndarray, radius: np.ndarray) -> np.ndarray:
    return np.hypot(x, y) - radius


def _ellipse(x: np.ndarray, y: np.ndarray, radius: np.ndarray) -> np.ndarray:
    minor = 0.55 * radius
    # The level set of the normalised radius, scaled by the minor axis: exact boundary, and
    # a distance that is right to within the aspect ratio near it, enough for anti-aliasing.
    return (np.hypot(x / radius, y / minor) - 1.0) * minor


def _ring(x: np.ndarray, y: np.ndarray, radius: np.ndarray) -> np.ndarray:
    return np.abs(np.hypot(x, y) - 0.7 * radius) - 0.3 * radius


def _square(x: np.ndarray, y: np.ndarray, radius: np.ndarray) -> np.ndarray:
    half = 0.8 * radius
    return _box(x, y, half, half)


def _triangle(x: np.ndarray, y: np.ndarray, radius: np.ndarray) -> np.ndarray:
    # Equilateral, circumradius = radius, apex up (image y grows downwards): the intersection
    # of three half-planes at distance radius / 2 (the inradius) from the centre.
    distance = y - 0.5 * radius
    for angle in (np.deg2rad(210.0), np.deg2rad(330.0)):
        distance = np.maximum(distance, np.cos(angle) * x + np.sin(angle) * y - 0.5 * radius)
    return distance


def _cross(x: np.ndarray, y: np.ndarray, radius: np.ndarray) -> np.ndarray:
    width = 0.3 * radius
    return np.minimum(_box(x, y, radius, width), _box(x, y, width, radius))


SIGNED_DISTANCE: list[SignedDistance] = [_circle, _ellipse, _ring, _square, _triangle, _cross]


def _backgrounds(image_size: int) -> np.ndarray:
    """The four backgrounds as float32 ``(4, 3, S, S)`` RGB in 0..255."""
    rows, columns = np.meshgrid(np.arange(image_size), np.arange(image_size), indexing="ij")
    # A texture period that scales with the image, so the texture survives resizing crops.
    half_period = max(1, image_size // 16)
    stripes = (rows // half_period) % 2
    checks = (rows // half_period + columns // half_period) % 2
    dark, light = 35.0, 105.0
    plates = np.empty((4, 3, image_size, image_size), dtype=np.float32)
    plates[0] = 0.0
    plates[1] = 90.0
    plates[2] = np.where(stripes == 1, light, dark)[None]
    plates[3] = np.where(checks == 1, light, dark)[None]
    return plates


def render_shapes(
    shape: np.ndarray,
    colour: np.ndarray,
    scale: np.ndarray,
    rotation: np.ndarray,
    centre_x: np.ndarray,
    centre_y: np.ndarray,
    background: np.ndarray,
    image_size: int,
    masks: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Draw one anti-aliased shape per image.

    Args:
        shape, colour, scale, rotation, background: ``(N,)`` int ids (see the module table).
        centre_x, centre_y: ``(N,)`` float shape centres in ``[-1, 1]`` image coordinates
            (x to the right, y downwards).
        image_size: the square side S.

        masks: also return the per-pixel class ids (see the module docstring).

    Returns:
        uint8 ``(N, 3, S, S)`` images, and with ``masks`` uint8 ``(N, S, S)`` class ids.
    """
    count = len(shape)
    pixel = 2.0 / image_size
    grid = (np.arange(image_size, dtype=np.float32) + 0.5) * pixel - 1.0
    plates = _backgrounds(image_size)
    images = np.empty((count, 3, image_size, image_size), dtype=np.uint8)
    labels = np.zeros((count, image_size, image_size), dtype=np.uint8) if masks else None
    chunk_size = max(1, PIXELS_PER_CHUNK // (image_size * image_size))
    for start in range(0, count, chunk_size):
        chunk = slice(start, min(start + chunk_size, count))
        dx = grid[None, None, :] - centre_x[chunk, None, None].astype(np.float32)
        dy = grid[None, :, None] - centre_y[chunk, None, None].astype(np.float32)
        angle = ROTATION_RADIANS[rotation[chunk]][:, None, None]
        cos, sin = np.cos(angle), np.sin(angle)
        # Rotating the sampling coordinates by -angle rotates the drawn shape by +angle.
        local_x = cos * dx + sin * dy
        local_y = cos * dy - sin * dx
        radius = np.broadcast_to(SCALE_RADIUS[scale[chunk]][:, None, None], local_x.shape)
        distance = np.empty_like(local_x)
        for shape_id, signed_distance in enumerate(SIGNED_DISTANCE):
            mask = shape[chunk] == shape_id
            if mask.any():
                distance[mask] = signed_distance(local_x[mask], local_y[mask], radius[mask])
        # Pixel coverage from the signed distance: a one-pixel linear ramp across the edge.
        coverage = np.clip(0.5 - distance / pixel, 0.0, 1.0)[:, None]
        paint = COLOUR_RGB[colour[chunk]][:, :, None, None]
        base = plates[background[chunk]]
        blended = base + coverage * (paint - base)
        images[chunk] = np.rint(blended).astype(np.uint8)
        if labels is not None:
            inside = distance <= 0.0
            labels[chunk] = np.where(inside, shape[chunk, None, None] + 1, 0).astype(np.uint8)
    if labels is not None:
        return torch.from_numpy(images), torch.from_numpy(labels)
    return torch.from_numpy(images)


def _binary_columns(factors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    def flag(condition: np.ndarray) -> np.ndarray:
        return condition.astype(np.int64)

    return {
        "is_red": flag(factors["colour"] == COLOURS.index("red")),
        "is_warm": WARM_COLOURS[factors["colour"]],
        "is_small": flag(factors["scale"] == 0),
        "is_large": flag(factors["scale"] == len(SCALES) - 1),
        "is_left": flag(factors["pos_x"] == 0),
        "is_right": flag(factors["pos_x"] == len(POSITIONS_X) - 1),
        "is_top": flag(factors["pos_y"] == 0),
        "is_bottom": flag(factors["pos_y"] == len(POSITIONS_Y) - 1),
        "is_centre": flag((factors["pos_x"] == 1) & (factors["pos_y"] == 1)),
        "has_corners": flag(factors["shape_group"] == SHAPE_GROUPS.index("angular")),
        "is_convex": CONVEX_SHAPES[factors["shape"]],
        "is_rotated": flag(factors["rotation"] > 0),
        "has_texture": flag(factors["background"] >= BACKGROUNDS.index("stripes")),
    }


def _check_options(
    split: str, seed: int, n: int | None, image_size: int, nuisance: str, masks: bool
) -> int:
    """The number of images to draw, after checking every option of :func:`shapes`."""
    count = DEFAULT_SIZE[split] if n is None else n
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError(f"shapes option n must be a positive integer, got {n!r}")
    if (
        isinstance(image_size, bool)
        or not isinstance(image_size, int)
        or image_size < MIN_IMAGE_SIZE
    ):
        raise ConfigError(
            f"shapes option image_size must be an integer >= {MIN_IMAGE_SIZE}, got {image_size!r}"
        )
    if nuisance not in NUISANCES:
        raise ConfigError(
            f"shapes option nuisance must be one of {', '.join(NUISANCES)}, got {nuisance!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"shapes needs a non-negative integer seed, got {seed!r}")
    if not isinstance(masks, bool):
        raise ConfigError(f"shapes option masks must be true or false, got {masks!r}")
    return count


def _draw_factors(rng: np.random.Generator, count: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each image's factor levels (int64) and its (2, count) position jitter.

    One row of uniforms per image, consumed in row order, makes the set prefix-stable: the
    first m images of a set of n > m images are the set of m images (same seed and split).
    """
    levels = {
        "shape": len(SHAPES),
        "colour": len(COLOURS),
        "scale": len(SCALES),
        "rotation": len(ROTATIONS),
        "pos_x": len(POSITIONS_X),
        "pos_y": len(POSITIONS_Y),
        "background": len(BACKGROUNDS),
    }
    uniforms = rng.random((count, len(levels) + 2))
    factors = {
        name: np.minimum((uniforms[:, column] * level).astype(np.int64), level - 1)
        for column, (name, level) in enumerate(levels.items())
    }
    jitter = (2.0 * uniforms[:, len(levels) :].T - 1.0).astype(np.float32) * POSITION_JITTER
    return factors, jitter


@register_dataset("shapes")
def shapes(
    split: str = "train",
    seed: int = 0,
    root: Path | None = None,
    n: int | None = None,
    image_size: int = 32,
    nuisance: str = "none",
    masks: bool = False,
) -> TensorImageData:
    """Procedural shapes with exact attributes; deterministic in ``(seed, split)``.

    Prefix-stable: with the same seed and split, ``n=600`` gives the first 600 images (and
    attributes) of ``n=6000``.

    Args:
        split: ``"train"`` or ``"test"``; the two use different random streams of ``seed``.
        seed: the generator's seed (>= 0).
        root: ignored (nothing is read from disk).
        n: the number of images (default 6,000 for train, 2,000 for test).
        image_size: the square side in pixels (>= 8).
        nuisance: ``"none"`` (black background) or ``"background"`` (one of 4 backgrounds,
            drawn independently of the shape).
        masks: also build the per-pixel segmentation targets (``data.masks``; classes
            ``background`` and the 6 shapes).

    Returns:
        3-channel images, labels = shape id (6 classes), and the ``aux`` columns described in
        the module docstring.
    """
    del root
    count = _check_options(split, seed, n, image_size, nuisance, masks)
    factors, jitter = _draw_factors(np.random.default_rng([seed, SPLIT_STREAM[split]]), count)
    if nuisance == "none":
        # The background uniforms are drawn either way, so switching the nuisance on changes
        # the backgrounds and nothing else.
        factors["background"] = np.zeros(count, dtype=np.int64)
    factors["shape_group"] = SHAPE_GROUP_OF[factors["shape"]]

    drawn = render_shapes(
        shape=factors["shape"],
        colour=factors["colour"],
        scale=factors["scale"],
        rotation=factors["rotation"],
        centre_x=GRID_CENTRES[factors["pos_x"]] + jitter[0],
        centre_y=GRID_CENTRES[factors["pos_y"]] + jitter[1],
        background=factors["background"],
        image_size=image_size,
        masks=masks,
    )
    images, pixel_classes = drawn if masks else (drawn, None)
    return TensorImageData(
        images,
        name="shapes",
        classes=list(SHAPES),
        labels=factors["shape"],
        aux={**factors, **_binary_columns(factors)},
        aux_classes={
            "shape": list(SHAPES),
            "shape_group": list(SHAPE_GROUPS),
            "colour": list(COLOURS),
            "scale": list(SCALES),
            "rotation": list(ROTATIONS),
            "pos_x": list(POSITIONS_X),
            "pos_y": list(POSITIONS_Y),
            "background": list(BACKGROUNDS),
        },
        masks=pixel_classes,
        mask_classes=["background", *SHAPES] if masks else None,
    )
