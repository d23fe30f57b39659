"""Light decoders from encoder outputs back to pixels, for the reconstruction terms of MRCL and
SuperInfo.

* :class:`SpatialPixelDecoder`: the backbone's last feature map before pooling (B, D, h, w) →
  a 3×3 convolution → a 1×1 convolution to r²·C values per cell → pixel shuffle by r = ⌈S/h⌉ →
  (B, C, S, S). Each feature-map cell predicts the pixels of its own r×r cell, as MAE's linear
  head predicts the pixels of its token. MRCL's default decoder on convnets.
* :class:`ConvPixelDecoder`: a pooled feature vector (B, D) → a small (width, s₀, s₀) seed by a
  linear layer → a few stride-2 transposed convolutions → (B, C, S, S). MRCL's ``pooled``
  decoder and SuperInfo's reconstruction decoder.
* :class:`MLPPixelDecoder`: (B, D) → hidden → C·S·S; the simplest alternative.
* :class:`MaskedTokenDecoder`: MAE's decoder (He et al., "Masked Autoencoders Are Scalable
  Vision Learners", CVPR 2022) for a ViT that dropped its masked tokens: embed the visible
  tokens, put a learned mask token at every masked position, add positions, a small
  transformer, and a linear map of each token to its patch's pixels.

All decoders output unnormalised real values (no final activation): the targets are normalised
views or per-patch-normalised pixels, both unbounded.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from infoclr.errors import ConfigError
from infoclr.functional.masking import unpatchify

__all__ = [
    "ConvPixelDecoder",
    "MLPPixelDecoder",
    "MaskedTokenDecoder",
    "SpatialPixelDecoder",
    "seed_side",
]


def seed_side(image_size: int, max_seed: int = 8) -> tuple[int, int]:
    """``(upsamplings k, seed side s₀)`` with ``s₀ · 2^k = image_size``: halve while the side is
    even and above ``max_seed`` (8 → (0, 8); 28 → (2, 7); 32 → (2, 8); 224 → (5, 7))."""
    side, steps = image_size, 0
    while side % 2 == 0 and side > max_seed:
        side //= 2
        steps += 1
    return steps, side


class ConvPixelDecoder(nn.Module):
    """(B, in_dim) features → (B, channels, image_size, image_size) pixels.

    Linear to a (width, s₀, s₀) seed, then k blocks of ConvTranspose2d(4, stride 2, padding 1)
    + BatchNorm + ReLU (each doubles the side), then a 3×3 convolution to ``channels``.
    """

    def __init__(self, in_dim: int, channels: int, image_size: int, width: int = 64) -> None:
        super().__init__()
        if image_size < 1 or width < 1:
            raise ConfigError(f"decoder needs image_size >= 1 and width >= 1, got {image_size}")
        steps, side = seed_side(image_size)
        self.seed_shape = (width, side, side)
        self.seed = nn.Sequential(nn.Linear(in_dim, width * side * side), nn.ReLU())
        blocks: list[nn.Module] = []
        for _ in range(steps):
            blocks += [
                nn.ConvTranspose2d(width, width, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(),
            ]
        blocks.append(nn.Conv2d(width, channels, 3, padding=1))
        self.upsample = nn.Sequential(*blocks)
        self.channels, self.image_size = channels, image_size

    def forward(self, features: Tensor) -> Tensor:
        seed = self.seed(features).reshape(features.shape[0], *self.seed_shape)
        return self.upsample(seed)


class SpatialPixelDecoder(nn.Module):
    """(B, in_channels, h, w) feature map → (B, channels, image_size, image_size) pixels.

    Conv3×3(in_channels → width) + BatchNorm + ReLU, then Conv1×1(width → r²·channels) and
    ``PixelShuffle(r)`` with r = ⌈image_size / h⌉; when h·r ≠ image_size the result is resized
    (bilinear) to the image size. The 3×3 layer lets a cell see its neighbours, which is what a
    cell under a masked patch needs to inpaint it.
    """

    def __init__(
        self, in_channels: int, channels: int, image_size: int, map_size: int, width: int = 64
    ) -> None:
        super().__init__()
        if min(in_channels, channels, image_size, map_size, width) < 1:
            raise ConfigError(
                f"spatial decoder needs positive sizes, got a {map_size}-px map of "
                f"{in_channels} channels for {image_size}-px images"
            )
        self.scale = -(-image_size // map_size)
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, channels * self.scale**2, 1),
            nn.PixelShuffle(self.scale),
        )
        self.channels, self.image_size, self.map_size = channels, image_size, map_size

    def forward(self, feature_map: Tensor) -> Tensor:
        pixels = self.layers(feature_map)
        if pixels.shape[-1] != self.image_size or pixels.shape[-2] != self.image_size:
            size = (self.image_size, self.image_size)
            pixels = nn.functional.interpolate(pixels, size, mode="bilinear", align_corners=False)
        return pixels


class MLPPixelDecoder(nn.Module):
    """(B, in_dim) → Linear → ReLU → Linear → (B, channels, image_size, image_size)."""

    def __init__(self, in_dim: int, channels: int, image_size: int, hidden: int = 512) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, channels * image_size**2)
        )
        self.channels, self.image_size = channels, image_size

    def forward(self, features: Tensor) -> Tensor:
        pixels = self.layers(features)
        return pixels.reshape(features.shape[0], self.channels, self.image_size, self.image_size)


class MaskedTokenDecoder(nn.Module):
    """MAE-style decoder over all N patch positions of a ViT.

    ``forward(tokens, visible)``: tokens (B, n_keep, encoder_dim) are the encoder outputs of the
    visible patches whose indices are ``visible`` (B, n_keep) (None: all N patches in order).
    Returns (B, channels, grid·p, grid·p) pixels.

    Args:
        encoder_dim: width of the encoder tokens.
        num_patches: N = grid².
        patch_size: p.
        channels: C.
        dim, depth, heads: the decoder transformer (small: MAE uses a decoder much lighter
            than its encoder).
    """

    def __init__(
        self,
        encoder_dim: int,
        num_patches: int,
        patch_size: int,
        channels: int,
        dim: int = 128,
        depth: int = 2,
        heads: int = 4,
    ) -> None:
        super().__init__()
        if dim % heads:
            raise ConfigError(f"decoder dim {dim} must be a multiple of heads {heads}")
        self.embed = nn.Linear(encoder_dim, dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.mask_token, std=0.02)
        layer = nn.TransformerEncoderLayer(
            dim, heads, 4 * dim, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, patch_size * patch_size * channels)
        self.num_patches, self.patch_size, self.channels = num_patches, patch_size, channels

    def forward(self, tokens: Tensor, visible: Tensor | None = None) -> Tensor:
        embedded = self.embed(tokens)
        if visible is None:
            full = embedded
        else:
            batch, _, dim = embedded.shape
            full = self.mask_token.to(embedded.dtype).expand(batch, self.num_patches, dim)
            index = visible[..., None].expand(-1, -1, dim)
            full = torch.scatter(full, 1, index, embedded)
        decoded = self.norm(self.blocks(full + self.pos_embed))
        return unpatchify(self.head(decoded), self.patch_size, self.channels)
