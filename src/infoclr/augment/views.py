"""SimCLR views for a whole batch at once, on the batch's own device.

The augmentation is the one of SimCLR (Chen et al., "A Simple Framework for Contrastive Learning
of Visual Representations", ICML 2020): random resized crop, horizontal flip, colour jitter
(brightness, contrast, saturation, hue, applied with probability p in a random order), random
greyscale and optional Gaussian blur. Instead of transforming image by image in data-loader
workers, :class:`BatchViews` draws one parameter set per sample and applies every operation to the
whole (B, C, H, W) batch with a few batched tensor operations. On 2 CPU cores that is more than
ten times faster than torchvision per image at 32 × 32 (docs/benchmarks-throughput.md), and it
runs on the GPU when the batch is there.

Each operation matches torchvision.transforms.v2 with the same parameters up to float rounding
(see tests/augment): the crop uses torchvision's antialiased bilinear weights, the colour
operations use torchvision's (PIL's) formulas, and the crop box is drawn with torchvision's
RandomResizedCrop scheme (ten tries, then a centre crop).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from infoclr.augment.color import adjust_hue, blend_step, to_grayscale
from infoclr.augment.config import ViewConfig
from infoclr.augment.geometry import apply_resize_weights, gaussian_blur, resize_weights
from infoclr.errors import DataError

# Jitter operation ids, in torchvision's ColorJitter order.
BRIGHTNESS, CONTRAST, SATURATION, HUE = 0, 1, 2, 3
_CROP_TRIES = 10


@dataclass(frozen=True)
class ViewParams:
    """One draw of the view distribution for a batch of B images; all tensors have B rows.

    Attributes:
        crop_top, crop_left, crop_height, crop_width: (B,) int64 crop boxes in input pixels.
        flip: (B,) bool horizontal flips.
        jitter: (B,) bool, True where colour jitter is applied.
        brightness, contrast, saturation: (B,) float32 blend factors (1 = unchanged).
        hue: (B,) float32 hue shifts in turns (0 = unchanged).
        jitter_order: (B, 4) int64; row b is the order in which sample b applies the
            operations BRIGHTNESS, CONTRAST, SATURATION, HUE.
        grayscale: (B,) bool.
        blur: (B,) bool.
        blur_sigma: (B,) float32 blur standard deviations in output pixels.
        affine: (B, 2, 3) float32 matrices for ``F.affine_grid`` (output → input, normalised
            coordinates), or None when the config has no affine stage.
    """

    crop_top: Tensor
    crop_left: Tensor
    crop_height: Tensor
    crop_width: Tensor
    flip: Tensor
    jitter: Tensor
    brightness: Tensor
    contrast: Tensor
    saturation: Tensor
    hue: Tensor
    jitter_order: Tensor
    grayscale: Tensor
    blur: Tensor
    blur_sigma: Tensor
    affine: Tensor | None = None

    def to(self, device: torch.device | str) -> ViewParams:
        """The same parameters on ``device``."""
        return ViewParams(
            **{
                item.name: None
                if getattr(self, item.name) is None
                else getattr(self, item.name).to(device)
                for item in fields(self)
            }
        )


def _check_images(images: Tensor) -> None:
    if not isinstance(images, Tensor) or images.ndim != 4:
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise DataError(
            f"images must be a (B, C, H, W) batch, got {shape}; add a batch axis with unsqueeze(0)"
        )
    if images.shape[1] not in (1, 3):
        raise DataError(
            f"images have {images.shape[1]} channels; views support 1 (grey) or 3 (RGB), "
            "with channels on axis 1"
        )
    if images.dtype != torch.uint8 and not images.is_floating_point():
        raise DataError(
            f"images have dtype {images.dtype}; pass uint8 in [0, 255] or float in [0, 1]"
        )
    if images.shape[0] == 0 or images.shape[2] == 0 or images.shape[3] == 0:
        raise DataError(f"images of shape {tuple(images.shape)} are empty; pass at least one pixel")


def _normalisation(
    config: ViewConfig, channels: int, device: torch.device
) -> tuple[Tensor, Tensor]:
    """(1, C', 1, 1) mean and std on ``device``, C' being 1 or ``channels``."""
    if len(config.mean) not in (1, channels):
        raise DataError(
            f"ViewConfig.mean has {len(config.mean)} values but images have {channels} channels; "
            f"give 1 or {channels} values"
        )
    if torch.compiler.is_compiling():
        # Inside a compiled graph the tensors are constants anyway; the cache would only
        # make the tracer warn.
        return _statistics_tensors(tuple(config.mean), tuple(config.std), device)
    return _statistics_on(tuple(config.mean), tuple(config.std), device)


def _statistics_tensors(
    mean: tuple[float, ...], std: tuple[float, ...], device: torch.device
) -> tuple[Tensor, Tensor]:
    mean_tensor = torch.tensor(mean, dtype=torch.float32, device=device).reshape(1, -1, 1, 1)
    std_tensor = torch.tensor(std, dtype=torch.float32, device=device).reshape(1, -1, 1, 1)
    return mean_tensor, std_tensor


# Cached because building them on an accelerator is a host-to-device copy on every call.
_statistics_on = functools.lru_cache(maxsize=32)(_statistics_tensors)


def sample_crop_boxes(
    batch_size: int,
    height: int,
    width: int,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """RandomResizedCrop boxes, torchvision's scheme vectorised over the batch.

    Each sample makes ten tries of (area fraction ~ U(scale), log aspect ratio ~ U(log ratio)),
    keeps the first box that fits, and falls back to the largest centred box whose aspect ratio
    is within ``ratio``. The position is uniform over the places the box fits.

    Returns:
        top, left, crop_height, crop_width: each (B,) int64 on ``device``.
    """
    # One float64 draw holds every try's area and log-ratio uniforms and the position; float64
    # so that rounding the crop side matches torchvision's Python-float arithmetic.
    draws = torch.rand(
        (batch_size, 2 * _CROP_TRIES + 2), generator=generator, device=device, dtype=torch.float64
    )
    area = height * width * (scale[0] + (scale[1] - scale[0]) * draws[:, :_CROP_TRIES])
    log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_low + (log_high - log_low) * draws[:, _CROP_TRIES : 2 * _CROP_TRIES])
    crop_w = torch.round(torch.sqrt(area * aspect)).long()
    crop_h = torch.round(torch.sqrt(area / aspect)).long()
    fits = (crop_w > 0) & (crop_w <= width) & (crop_h > 0) & (crop_h <= height)
    first_fit = fits.long().argmax(dim=1, keepdim=True)
    any_fit = fits.any(dim=1)
    crop_w = crop_w.gather(1, first_fit).squeeze(1)
    crop_h = crop_h.gather(1, first_fit).squeeze(1)

    input_ratio = width / height
    if input_ratio < min(ratio):
        fallback_w, fallback_h = width, int(round(width / min(ratio)))
    elif input_ratio > max(ratio):
        fallback_w, fallback_h = int(round(height * max(ratio))), height
    else:
        fallback_w, fallback_h = width, height
    crop_w = torch.where(any_fit, crop_w, torch.full_like(crop_w, fallback_w))
    crop_h = torch.where(any_fit, crop_h, torch.full_like(crop_h, fallback_h))

    position = draws[:, 2 * _CROP_TRIES :]
    top = torch.floor(position[:, 0] * (height - crop_h + 1)).long()
    left = torch.floor(position[:, 1] * (width - crop_w + 1)).long()
    top = torch.where(any_fit, top, (height - crop_h) // 2)
    left = torch.where(any_fit, left, (width - crop_w) // 2)
    return top, left, crop_h, crop_w


class BatchViews(nn.Module):
    """Per-sample random SimCLR views applied to a whole uint8 or float batch on its device.

    Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations"
    (ICML 2020). The order is: random resized crop + flip (one interpolation step), colour
    jitter with probability ``jitter_prob`` (random order per sample), random greyscale,
    optional Gaussian blur, normalisation.

    Example:
        >>> views = BatchViews(ViewConfig.for_resolution(32, channels=3))
        >>> first, second = views(images), views(images)   # images: (B, 3, H, W) uint8
    """

    def __init__(self, config: ViewConfig, compiled: bool = False) -> None:
        """
        Args:
            config: the view distribution.
            compiled: run draw + apply through ``torch.compile`` (calls without a generator).
                It pays where kernel launches dominate: on an H100 at 32 × 32, batch 256, a
                call drops from 5.9 ms to 0.40 ms after a 15 s compile
                (docs/benchmarks-throughput.md). Off by default because of that compile time.
        """
        super().__init__()
        self.config = config
        self.compiled = compiled
        self._compiled_draw_and_apply: Callable[[Tensor], Tensor] | None = None

    def sample_params(
        self,
        batch_size: int,
        height: int,
        width: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> ViewParams:
        """Draw independent view parameters for each of ``batch_size`` images of size H × W.

        Random numbers come from ``generator`` (on the generator's device) or from the global
        generator of ``device``; the result is moved to ``device`` (default: the generator's).
        """
        config = self.config
        draw_device = generator.device if generator is not None else torch.device(device or "cpu")
        target = torch.device(device) if device is not None else draw_device

        top, left, crop_h, crop_w = sample_crop_boxes(
            batch_size, height, width, config.crop_scale, config.crop_ratio, generator, draw_device
        )
        # One draw for all the remaining per-sample numbers: each random call is a kernel
        # launch on an accelerator, and there are a dozen of them.
        draws = torch.rand((batch_size, 13), generator=generator, device=draw_device).unbind(1)

        def factor(strength: float, draw: Tensor) -> Tensor:
            low, high = max(0.0, 1.0 - strength), 1.0 + strength
            return low + (high - low) * draw

        flip = draws[0] < config.flip_prob
        jitter = draws[1] < config.jitter_prob
        brightness = factor(config.brightness, draws[2])
        contrast = factor(config.contrast, draws[3])
        saturation = factor(config.saturation, draws[4])
        hue = (2.0 * draws[5] - 1.0) * config.hue
        grayscale = draws[6] < config.grayscale_prob
        blur = draws[7] < config.blur_prob
        sigma_low, sigma_high = config.blur_sigma
        sigma = sigma_low + (sigma_high - sigma_low) * draws[8]
        if config.jitter_random_order:
            # argsort of i.i.d. uniforms is a uniformly random permutation per row.
            order = torch.stack(draws[9:13], dim=1).argsort(dim=1)
        else:
            order = torch.arange(4, device=draw_device).expand(batch_size, 4).clone()
        params = ViewParams(
            crop_top=top,
            crop_left=left,
            crop_height=crop_h,
            crop_width=crop_w,
            flip=flip,
            jitter=jitter,
            brightness=brightness,
            contrast=contrast,
            saturation=saturation,
            hue=hue,
            jitter_order=order,
            grayscale=grayscale,
            blur=blur,
            blur_sigma=sigma,
            affine=self._sample_affine(batch_size, generator, draw_device),
        )
        return params.to(target) if target != draw_device else params

    def _sample_affine(
        self, batch_size: int, generator: torch.Generator | None, device: torch.device
    ) -> Tensor | None:
        config = self.config
        if not config.uses_affine:
            return None
        u = torch.rand((batch_size, 5), generator=generator, device=device) * 2.0 - 1.0
        angle = u[:, 0] * math.radians(config.rotation)
        low, high = config.affine_scale
        zoom = low + (high - low) * (u[:, 1] + 1.0) / 2.0
        shear = u[:, 2] * config.shear
        shift = u[:, 3:5] * (2.0 * config.translate)  # normalised coordinates span 2
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        rows = [
            torch.stack([cos, -sin + shear, shift[:, 0]], dim=1),
            torch.stack([sin, cos, shift[:, 1]], dim=1),
        ]
        return torch.stack(rows, dim=1)

    def forward(self, images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """images: (B,C,H,W) uint8 [0,255] or float [0,1], any device → (B,C,S,S) float32
        normalised view, S = config.image_size. Each call draws fresh per-sample parameters.

        C must be 1 or 3. ``generator`` (on any device) makes the draw reproducible.
        """
        _check_images(images)
        if self.compiled and generator is None:
            if self._compiled_draw_and_apply is None:
                # Static shapes: a dynamic batch size breaks the traced random draws, and a
                # loader gives at most two batch sizes (full and last), each compiled once.
                self._compiled_draw_and_apply = torch.compile(self._draw_and_apply, dynamic=False)
            return self._compiled_draw_and_apply(images)
        params = self.sample_params(
            images.shape[0], images.shape[2], images.shape[3], generator, images.device
        )
        return self.apply(images, params)

    def _draw_and_apply(self, images: Tensor) -> Tensor:
        params = self.sample_params(
            images.shape[0], images.shape[2], images.shape[3], None, images.device
        )
        return self.apply(images, params)

    @torch.no_grad()
    def apply(self, images: Tensor, params: ViewParams, normalise: bool = True) -> Tensor:
        """Apply a given parameter draw (from :meth:`sample_params`) to ``images``.

        Args:
            images: (B, C, H, W) uint8 in [0, 255] or float in [0, 1], C in {1, 3}.
            params: parameters with B rows, on ``images.device``.
            normalise: False returns the view in [0, 1] before normalisation (for tests and
                for looking at the views).

        Returns:
            (B, C, S, S) float32.
        """
        _check_images(images)
        config = self.config
        # Augmentation needs full precision even inside a caller's bf16 autocast region.
        with torch.autocast(device_type=images.device.type, enabled=False):
            pixels = images.to(torch.float32)
            row_weights = resize_weights(
                params.crop_top, params.crop_height, images.shape[2], config.image_size
            )
            if images.dtype == torch.uint8:
                # Folding 1/255 into the interpolation weights saves a pass over the pixels.
                row_weights = row_weights / 255.0
            col_weights = resize_weights(
                params.crop_left, params.crop_width, images.shape[3], config.image_size, params.flip
            )
            views = apply_resize_weights(pixels, row_weights, col_weights)
            if params.affine is not None:
                grid = F.affine_grid(params.affine, list(views.shape), align_corners=False)
                views = F.grid_sample(views, grid, align_corners=False, padding_mode="zeros")
            views = self._jitter(views, params)
            if views.shape[1] == 3 and config.grayscale_prob > 0:
                views = torch.where(
                    params.grayscale.reshape(-1, 1, 1, 1), to_grayscale(views), views
                )
            if config.blur_prob > 0:
                views = self._blur(views, params)
            if normalise:
                mean, std = _normalisation(config, views.shape[1], views.device)
                views = (views - mean) / std
            return views

    def _jitter(self, views: Tensor, params: ViewParams) -> Tensor:
        """Colour jitter on the jittered samples, each in its own operation order."""
        config = self.config
        strengths = (config.brightness, config.contrast, config.saturation, config.hue)
        factors = (params.brightness, params.contrast, params.saturation, params.hue)
        active_ops = [op for op in range(4) if strengths[op] > 0]
        if views.shape[1] == 1:
            # Grey images have no saturation or hue.
            active_ops = [op for op in active_ops if op in (BRIGHTNESS, CONTRAST)]
        if config.jitter_prob == 0 or not active_ops:
            return views
        # (B, 4): the blend factor each sample uses at each step. Factor 1 passes a sample
        # through unchanged: samples without jitter, hue steps and switched-off operations.
        ones = torch.ones_like(params.brightness)
        per_operation = [
            factors[op] if op in active_ops else ones for op in (BRIGHTNESS, CONTRAST, SATURATION)
        ]
        step_factors = torch.stack([*per_operation, ones], dim=1).gather(1, params.jitter_order)
        step_factors = torch.where(params.jitter.unsqueeze(1), step_factors, 1.0)
        hue_steps = params.jitter.unsqueeze(1) & (params.jitter_order == HUE)
        runs_blend = any(op in active_ops for op in (BRIGHTNESS, CONTRAST, SATURATION))
        for step in range(4):
            if runs_blend:
                # The three blend operations of this step run as one batched blend instead of
                # three gathers and scatters.
                views = blend_step(views, params.jitter_order[:, step], step_factors[:, step])
            if HUE in active_ops:
                # Hue is the costly one (an HSV round trip), so it runs on its samples only.
                views = _on_selected(views, hue_steps[:, step], adjust_hue, params.hue)
        return views

    def _blur(self, views: Tensor, params: ViewParams) -> Tensor:
        def blur(images: Tensor, sigmas: Tensor) -> Tensor:
            return gaussian_blur(images, sigmas, self.config.kernel_size)

        return _on_selected(views, params.blur, blur, params.blur_sigma)


def _on_selected(
    views: Tensor,
    selected: Tensor,
    operation: Callable[..., Tensor],
    *per_sample: Tensor,
    gather: bool | None = None,
) -> Tensor:
    """``operation(views, *per_sample)`` on the samples where ``selected`` (B,) is True.

    On the CPU a gather and scatter spare the work on the other samples. On an accelerator that
    work is cheap, but the ``nonzero`` behind a gather would stall the stream, so every sample is
    computed and ``torch.where`` keeps the selected results, as it is under ``torch.compile``,
    which fuses the masked form and cannot trace a data-dependent gather as one graph.
    ``gather`` forces one strategy.
    """
    if gather is None:
        gather = views.device.type == "cpu" and not torch.compiler.is_compiling()
    if gather:
        index = selected.nonzero().squeeze(1)
        if index.numel() == 0:
            return views
        changed = operation(
            views.index_select(0, index), *(values.index_select(0, index) for values in per_sample)
        )
        return views.index_copy(0, index, changed)
    return torch.where(selected.reshape(-1, 1, 1, 1), operation(views, *per_sample), views)


class EvalView(nn.Module):
    """The deterministic evaluation view: centre crop to a square, resize to S, normalise.

    The centre square has side min(H, W); resizing uses antialiased bilinear weights. This is
    torchvision's ``Resize(S)`` + ``CenterCrop(S)`` for square inputs, and the same up to the
    rounding of the crop position otherwise.
    """

    def __init__(self, config: ViewConfig) -> None:
        super().__init__()
        self.config = config

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        """images: (B, C, H, W) uint8 [0, 255] or float [0, 1] → (B, C, S, S) float32 normalised."""
        _check_images(images)
        _, _, height, width = images.shape
        side = min(height, width)
        device = images.device
        # Every sample gets the same box, so one set of weights broadcasts over the batch.
        top = torch.tensor([(height - side) // 2], device=device)
        left = torch.tensor([(width - side) // 2], device=device)
        length = torch.tensor([side], device=device)
        with torch.autocast(device_type=device.type, enabled=False):
            row_weights = resize_weights(top, length, height, self.config.image_size)
            if images.dtype == torch.uint8:
                row_weights = row_weights / 255.0
            col_weights = resize_weights(left, length, width, self.config.image_size)
            views = apply_resize_weights(images.to(torch.float32), row_weights, col_weights)
            mean, std = _normalisation(self.config, views.shape[1], device)
            return (views - mean) / std
