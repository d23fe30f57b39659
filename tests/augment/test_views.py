"""BatchViews and EvalView against per-image torchvision pipelines with the same parameters."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from infoclr.augment import BatchViews, EvalView, ViewConfig, ViewParams, sample_crop_boxes
from infoclr.augment.views import BRIGHTNESS, CONTRAST, HUE, SATURATION
from infoclr.errors import ConfigError, DataError


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _reference_view(
    image: torch.Tensor, params: ViewParams, b: int, config: ViewConfig
) -> torch.Tensor:
    """Sample b's view built from torchvision's per-image functional ops."""
    size = config.image_size
    box = [int(t[b]) for t in (params.crop_top, params.crop_left)]
    box += [int(params.crop_height[b]), int(params.crop_width[b])]
    view = TF.resized_crop(image, *box, [size, size], antialias=True)
    if params.flip[b]:
        view = TF.horizontal_flip(view)
    if params.jitter[b]:
        for op in params.jitter_order[b].tolist():
            if op == BRIGHTNESS and config.brightness > 0:
                view = TF.adjust_brightness(view, float(params.brightness[b]))
            elif op == CONTRAST and config.contrast > 0:
                view = TF.adjust_contrast(view, float(params.contrast[b]))
            elif op == SATURATION and config.saturation > 0:
                view = TF.adjust_saturation(view, float(params.saturation[b]))
            elif op == HUE and config.hue > 0:
                view = TF.adjust_hue(view, float(params.hue[b]))
    if params.grayscale[b] and image.shape[0] == 3:
        view = TF.rgb_to_grayscale(view, num_output_channels=3)
    if params.blur[b]:
        sigma = float(params.blur_sigma[b])
        view = TF.gaussian_blur(view, [config.kernel_size] * 2, [sigma, sigma])
    channels = image.shape[0]
    mean = list(config.mean) * (channels // len(config.mean))
    std = list(config.std) * (channels // len(config.std))
    return TF.normalize(view, mean, std)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("random_order", [True, False])
def test_views_match_torchvision_pipeline(
    channels: int, dtype: torch.dtype, random_order: bool
) -> None:
    config = ViewConfig(
        image_size=12,
        flip_prob=0.5,
        jitter_prob=0.7,
        hue=0.2,
        grayscale_prob=0.3,
        blur_prob=0.5,
        blur_kernel_size=5,
        jitter_random_order=random_order,
        mean=(0.4,) * channels,
        std=(0.2,) * channels,
    )
    views = BatchViews(config)
    batch = 24
    if dtype == torch.uint8:
        images = torch.randint(0, 256, (batch, channels, 15, 10), dtype=torch.uint8)
        as_float = images.float() / 255
    else:
        images = as_float = torch.rand(batch, channels, 15, 10)
    params = views.sample_params(batch, 15, 10, generator=_generator(1))
    # The draw must exercise every branch so the comparison below covers them.
    for flag in (params.flip, params.jitter, params.grayscale, params.blur):
        assert flag.any() and not flag.all()
    out = views.apply(images, params)
    assert out.shape == (batch, channels, 12, 12) and out.dtype == torch.float32
    for b in range(batch):
        expected = _reference_view(as_float[b], params, b, config)
        torch.testing.assert_close(out[b], expected, atol=1e-4, rtol=0)


def test_forward_is_reproducible_with_a_seeded_generator() -> None:
    views = BatchViews(ViewConfig.for_resolution(16, channels=3))
    images = torch.randint(0, 256, (8, 3, 20, 20), dtype=torch.uint8)
    first = views(images, generator=_generator(7))
    again = views(images, generator=_generator(7))
    other = views(images, generator=_generator(8))
    torch.testing.assert_close(first, again, atol=0, rtol=0)
    assert not torch.allclose(first, other)
    # Without a generator each call draws fresh parameters.
    assert not torch.allclose(views(images), views(images))


def test_samples_get_independent_parameters() -> None:
    views = BatchViews(ViewConfig(image_size=16))
    same_image = torch.rand(1, 3, 16, 16).expand(32, 3, 16, 16).contiguous()
    out = views(same_image, generator=_generator(3))
    distinct = {tuple(row.flatten()[:64].tolist()) for row in out}
    assert len(distinct) == 32
    params = views.sample_params(256, 32, 32, generator=_generator(4))
    assert len(set(zip(params.crop_top.tolist(), params.crop_left.tolist(), strict=True))) > 100
    assert params.brightness.std() > 0.1 and params.hue.std() > 0.02
    orders = params.jitter_order.sort(dim=1).values
    assert (orders == torch.arange(4)).all()
    assert len({tuple(row) for row in params.jitter_order.tolist()}) == 24


def test_probabilities_are_respected() -> None:
    params = BatchViews(ViewConfig(image_size=8)).sample_params(4000, 8, 8, _generator(5))
    assert abs(params.flip.float().mean().item() - 0.5) < 0.04
    assert abs(params.jitter.float().mean().item() - 0.8) < 0.04
    assert abs(params.grayscale.float().mean().item() - 0.2) < 0.04
    assert not params.blur.any()
    assert params.brightness.min() >= 0.6 and params.brightness.max() <= 1.4
    assert params.hue.abs().max() <= 0.1


def test_identity_config_only_resizes_and_normalises() -> None:
    config = ViewConfig(
        image_size=10, crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), flip_prob=0.0,
        jitter_prob=0.0, grayscale_prob=0.0,
    )  # fmt: skip
    images = torch.rand(5, 3, 10, 10)
    out = BatchViews(config)(images)
    torch.testing.assert_close(out, (images - 0.5) / 0.5, atol=1e-6, rtol=0)


def test_values_stay_in_range_and_grayscale_is_grey() -> None:
    config = ViewConfig(image_size=12, grayscale_prob=1.0, brightness=2.0, contrast=2.0)
    views = BatchViews(config)
    images = torch.randint(0, 256, (16, 3, 14, 14), dtype=torch.uint8)
    raw = views.apply(images, views.sample_params(16, 14, 14, _generator(2)), normalise=False)
    assert raw.min() >= 0 and raw.max() <= 1
    torch.testing.assert_close(raw[:, 0], raw[:, 1], atol=0, rtol=0)
    torch.testing.assert_close(raw[:, 1], raw[:, 2], atol=0, rtol=0)


def test_views_are_float32_even_inside_bf16_autocast() -> None:
    views = BatchViews(ViewConfig(image_size=8))
    images = torch.rand(4, 3, 8, 8)
    plain = views(images, generator=_generator(9))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = views(images, generator=_generator(9))
    assert inside.dtype == torch.float32
    torch.testing.assert_close(inside, plain, atol=0, rtol=0)


def _loop_crop_boxes(
    uniforms: tuple[list[list[float]], list[list[float]], list[list[float]]],
    height: int,
    width: int,
    scale: tuple[float, float],
    ratio: tuple[float, float],
) -> list[tuple[int, int, int, int]]:
    """torchvision's RandomResizedCrop.make_params, written out per sample, fed given draws."""
    area_draws, ratio_draws, position_draws = uniforms
    boxes = []
    for b in range(len(area_draws)):
        for attempt in range(10):
            target_area = (
                height * width * (scale[0] + (scale[1] - scale[0]) * area_draws[b][attempt])
            )
            log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
            aspect = math.exp(log_low + (log_high - log_low) * ratio_draws[b][attempt])
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                top = int(position_draws[b][0] * (height - h + 1))
                left = int(position_draws[b][1] * (width - w + 1))
                boxes.append((top, left, h, w))
                break
        else:
            if width / height < min(ratio):
                w, h = width, int(round(width / min(ratio)))
            elif width / height > max(ratio):
                h, w = height, int(round(height * max(ratio)))
            else:
                w, h = width, height
            boxes.append(((height - h) // 2, (width - w) // 2, h, w))
    return boxes


@pytest.mark.parametrize(
    ("height", "width", "scale", "ratio"),
    [
        (32, 32, (0.08, 1.0), (3 / 4, 4 / 3)),
        (8, 8, (0.5, 1.0), (3 / 4, 4 / 3)),
        (6, 40, (0.9, 1.0), (1.0, 1.0)),  # never fits: centre fallback, too wide
        (40, 6, (0.9, 1.0), (1.0, 2.0)),  # never fits: centre fallback, too tall
    ],
)
def test_crop_boxes_follow_torchvisions_scheme(height, width, scale, ratio) -> None:
    batch = 64
    boxes = sample_crop_boxes(batch, height, width, scale, ratio, generator=_generator(11))
    # Replay the same draws, laid out as sample_crop_boxes lays them out.
    draws = torch.rand((batch, 22), generator=_generator(11), dtype=torch.float64)
    uniforms = (draws[:, :10], draws[:, 10:20], draws[:, 20:])
    expected = _loop_crop_boxes(tuple(u.tolist() for u in uniforms), height, width, scale, ratio)
    got = list(zip(*(t.tolist() for t in boxes), strict=True))
    assert got == expected
    top, left, crop_h, crop_w = boxes
    assert (top >= 0).all() and (left >= 0).all()
    assert (top + crop_h <= height).all() and (left + crop_w <= width).all()


def test_crop_box_distribution_matches_torchvision() -> None:
    height = width = 32
    top, left, crop_h, crop_w = sample_crop_boxes(
        3000, height, width, (0.2, 1.0), (3 / 4, 4 / 3), generator=_generator(12)
    )
    reference = v2.RandomResizedCrop(32, scale=(0.2, 1.0))
    image = torch.zeros(3, height, width)
    torch.manual_seed(12)
    ref = [reference.make_params([image]) for _ in range(3000)]
    ref_area = torch.tensor([p["height"] * p["width"] for p in ref], dtype=torch.float64)
    ref_top = torch.tensor([p["top"] for p in ref], dtype=torch.float64)
    ours_area = (crop_h * crop_w).double()
    assert abs(ours_area.mean() - ref_area.mean()) < 0.03 * ref_area.mean()
    assert abs(ours_area.std() - ref_area.std()) < 0.05 * ref_area.std()
    assert abs(top.double().mean() - ref_top.mean()) < 0.5


def test_eval_view_is_centre_crop_then_resize() -> None:
    config = ViewConfig(image_size=8, mean=(0.1, 0.2, 0.3), std=(0.5, 0.25, 0.2))
    wide = torch.randint(0, 256, (3, 3, 12, 20), dtype=torch.uint8)
    out = EvalView(config)(wide)
    assert out.shape == (3, 3, 8, 8) and out.dtype == torch.float32
    for b in range(3):
        expected = TF.center_crop(wide[b].float() / 255, [12, 12])
        expected = TF.resize(expected, [8, 8], antialias=True)
        expected = TF.normalize(expected, list(config.mean), list(config.std))
        torch.testing.assert_close(out[b], expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(EvalView(config)(wide), out, atol=0, rtol=0)


def test_eval_view_of_a_square_image_at_its_size_only_normalises() -> None:
    config = ViewConfig(image_size=9)
    images = torch.rand(2, 1, 9, 9)
    torch.testing.assert_close(EvalView(config)(images), (images - 0.5) / 0.5, atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (torch.rand(3, 8, 8), "unsqueeze"),
        (torch.rand(2, 2, 8, 8), "channels"),
        (torch.zeros(2, 3, 8, 8, dtype=torch.int32), "dtype"),
        (torch.rand(0, 3, 8, 8), "empty"),
    ],
)
def test_bad_images_raise_data_error(images: torch.Tensor, match: str) -> None:
    with pytest.raises(DataError, match=match):
        BatchViews(ViewConfig(image_size=8))(images)
    with pytest.raises(DataError, match=match):
        EvalView(ViewConfig(image_size=8))(images)


def test_mean_with_wrong_channel_count_raises() -> None:
    config = ViewConfig(image_size=8, mean=(0.5, 0.5, 0.5), std=(0.2, 0.2, 0.2))
    with pytest.raises(DataError, match="channels"):
        BatchViews(config)(torch.rand(2, 1, 8, 8))


@pytest.mark.parametrize(
    "overrides",
    [
        {"image_size": 0},
        {"crop_scale": (0.5, 0.2)},
        {"crop_scale": (0.0, 0.0)},
        {"crop_ratio": (0.0, 1.0)},
        {"flip_prob": 1.5},
        {"brightness": -0.1},
        {"hue": 0.6},
        {"blur_kernel_size": 4},
        {"blur_kernel_size": 21},
        {"mean": (0.5, 0.5), "std": (0.5,)},
        {"std": (0.0,)},
    ],
)
def test_bad_config_raises_config_error(overrides: dict) -> None:
    settings = {"image_size": 10, **overrides}
    with pytest.raises(ConfigError):
        ViewConfig(**settings)


def test_config_accepts_yaml_lists() -> None:
    config = ViewConfig(image_size=8, crop_scale=[0.3, 1.0], mean=[0.5], std=[0.5])
    assert config.crop_scale == (0.3, 1.0) and isinstance(config.mean, tuple)


def test_for_resolution_defaults() -> None:
    digits = ViewConfig.for_resolution(8, channels=1)
    assert digits.crop_scale == (1.0, 1.0) and digits.uses_affine and digits.blur_prob == 0
    assert digits.saturation == digits.hue == digits.grayscale_prob == 0
    assert len(digits.mean) == 1
    cifar = ViewConfig.for_resolution(32, channels=3)
    assert cifar.blur_prob == 0 and cifar.hue == 0.1 and len(cifar.mean) == 3
    for size in (96, 224):
        config = ViewConfig.for_resolution(size, channels=3)
        assert config.blur_prob > 0 and config.kernel_size % 2 == 1
    assert ViewConfig.for_resolution(224, channels=3).kernel_size == 23
    assert ViewConfig.for_resolution(28, channels=1).flip_prob == 0
    with pytest.raises(ConfigError, match="channels"):
        ViewConfig.for_resolution(32, channels=2)
    # Every bucket must actually run.
    for size, channels in [(8, 1), (8, 3), (28, 1), (32, 3), (96, 3), (100, 1)]:
        out = BatchViews(ViewConfig.for_resolution(size, channels))(
            torch.rand(2, channels, size, size)
        )
        assert out.shape == (2, channels, size, size) and torch.isfinite(out).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_views_match_cpu_with_the_same_parameters() -> None:
    config = ViewConfig(image_size=16, blur_prob=0.5)
    views = BatchViews(config)
    images = torch.randint(0, 256, (32, 3, 20, 20), dtype=torch.uint8)
    params = views.sample_params(32, 20, 20, generator=_generator(13))
    cpu = views.apply(images, params)
    gpu = views.apply(images.cuda(), params.to("cuda"))
    assert gpu.device.type == "cuda" and gpu.dtype == torch.float32
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-4, rtol=0)
    drawn = views(images.cuda(), generator=torch.Generator("cuda").manual_seed(1))
    assert drawn.device.type == "cuda" and drawn.shape == (32, 3, 16, 16)
    cpu_generator = views(images.cuda(), generator=_generator(1))
    assert cpu_generator.device.type == "cuda"


@pytest.mark.parametrize("any_selected", [True, False])
def test_gather_and_masked_strategies_agree(any_selected: bool) -> None:
    from infoclr.augment.color import adjust_hue
    from infoclr.augment.views import _on_selected

    views = torch.rand(6, 3, 5, 5)
    selected = torch.tensor([True, False, True, True, False, False]) & any_selected
    shifts = torch.rand(6) - 0.5
    gathered = _on_selected(views, selected, adjust_hue, shifts, gather=True)
    masked = _on_selected(views, selected, adjust_hue, shifts, gather=False)
    torch.testing.assert_close(gathered, masked, atol=0, rtol=0)
    torch.testing.assert_close(gathered[~selected], views[~selected], atol=0, rtol=0)
    if any_selected:
        torch.testing.assert_close(gathered[selected], adjust_hue(views, shifts)[selected])


def test_compiled_views_trace_and_draw_fresh_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    # The eager backend checks that the whole draw + apply traces as one graph without the
    # minutes a real inductor compile takes on 2 CPU cores.
    original_compile = torch.compile
    monkeypatch.setattr(
        torch,
        "compile",
        lambda fn, **options: original_compile(fn, backend="eager", fullgraph=True, **options),
    )
    views = BatchViews(ViewConfig(image_size=8), compiled=True)
    images = torch.randint(0, 256, (6, 3, 10, 10), dtype=torch.uint8)
    first, second = views(images), views(images)
    assert first.shape == (6, 3, 8, 8) and first.dtype == torch.float32
    assert not torch.equal(first, second)
    # A last, smaller batch recompiles for its shape instead of failing.
    assert views(images[:4]).shape == (4, 3, 8, 8)
    # A generator still takes the reproducible eager path.
    torch.testing.assert_close(
        views(images, generator=_generator(1)), views(images, generator=_generator(1))
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_compiled_views_draw_valid_views() -> None:
    config = ViewConfig(image_size=16, mean=(0.0,), std=(1.0,))
    images = torch.randint(0, 256, (64, 3, 20, 20), dtype=torch.uint8, device="cuda")
    compiled = BatchViews(config, compiled=True)
    first, second = compiled(images), compiled(images)
    assert first.device.type == "cuda" and first.shape == (64, 3, 16, 16)
    assert compiled(images[:10]).shape == (10, 3, 16, 16)
    assert not torch.equal(first, second)
    assert first.min() >= 0 and first.max() <= 1
    # Same distribution as eager: compare the mean pixel over many draws loosely.
    eager = torch.stack([BatchViews(config)(images) for _ in range(8)]).mean()
    fused = torch.stack([compiled(images) for _ in range(8)]).mean()
    assert abs(eager.item() - fused.item()) < 0.02


def _affine_params(views: BatchViews, images: torch.Tensor, matrix: torch.Tensor):
    params = views.sample_params(
        images.shape[0], images.shape[2], images.shape[3], torch.Generator().manual_seed(0)
    )
    return dataclasses.replace(params, affine=matrix.expand(images.shape[0], 2, 3).clone())


def test_affine_stage_identity_and_one_pixel_shift() -> None:
    config = ViewConfig(
        image_size=8,
        crop_scale=(1.0, 1.0),
        crop_ratio=(1.0, 1.0),
        flip_prob=0.0,
        jitter_prob=0.0,
        translate=0.1,
        mean=(0.0,),
        std=(1.0,),
    )
    views = BatchViews(config)
    images = torch.rand(3, 1, 8, 8)
    plain = BatchViews(dataclasses.replace(config, translate=0.0))
    base = plain.apply(images, plain.sample_params(3, 8, 8, torch.Generator()))
    identity = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    torch.testing.assert_close(views.apply(images, _affine_params(views, images, identity)), base)
    # Output pixel x samples input x + 1: a shift of 2/8 in normalised coordinates is one pixel.
    shift = torch.tensor([[1.0, 0.0, 2.0 / 8], [0.0, 1.0, 0.0]])
    shifted = views.apply(images, _affine_params(views, images, shift))
    torch.testing.assert_close(shifted[..., :7], images[..., 1:])
    assert torch.all(shifted[..., 7] == 0)  # zero fill outside the image


def test_affine_draws_are_per_sample_and_bounded() -> None:
    config = ViewConfig.for_resolution(8, channels=1)
    params = BatchViews(config).sample_params(64, 8, 8, torch.Generator().manual_seed(1))
    assert params.affine.shape == (64, 2, 3)
    assert len({tuple(m.flatten().tolist()) for m in params.affine}) == 64
    assert params.affine[:, :, 2].abs().max() <= 2 * config.translate + 1e-6
    no_affine = BatchViews(ViewConfig.for_resolution(32, channels=3)).sample_params(4, 32, 32)
    assert no_affine.affine is None
