"""MRCL: masked reconstruction contrastive learning, **as infoclr reconstructs it**.

Liu, Li, Han, Guo, Nie, "Masked Reconstruction Contrastive Learning with Information Bottleneck
Principle", arXiv 2211.09013. The paper's body could not be read and no official code exists;
the objective below is the reconstruction of docs/METHODS.md §3 (details in docs/objectives.md):

    L = ½ [ NT-Xent(z(m(v1)), z(v2)) + NT-Xent(z(m(v2)), z(v1)) ]
        + λ · ½ [ L_rec(D(e(m(v1))), v1; M1) + L_rec(D(e(m(v2))), v2; M2) ]

* v1, v2: two SimCLR views of each input (normalised pixels); m(·) masks a random ρ fraction
  of square patches (fresh masks M1, M2 per sample and direction);
* e: the backbone; z: projection head of the pooled features; D: a light decoder that reads,
  on convnets, the **last feature map before pooling** (``decoder="spatial"``, the default:
  the reconstruction then trains spatial features) or the pooled vector (``decoder="pooled"``,
  the earlier form);
* L_rec: MAE's MSE on per-patch-normalised pixels over the masked patches only
  (:func:`~infoclr.functional.masked_patch_mse`);
* symmetrised: each view takes its turn as the masked one, and both directions are averaged.

How a backbone is masked: a ViT (or any backbone with ``mask_mode = "drop"``) drops the masked
tokens and is decoded by :class:`~infoclr.models.decoders.MaskedTokenDecoder`; ``smallcnn`` and
the ResNets (or any backbone with ``mask_mode = "fill"``) see the masked patches filled with 0 or
a learned per-channel value in normalised pixel space, and are decoded from their feature map
by :class:`~infoclr.models.decoders.SpatialPixelDecoder` (``decoder="spatial"``; the backbone
must provide ``forward_map``) or from their pooled features by
:class:`~infoclr.models.decoders.ConvPixelDecoder` (``decoder="pooled"``). Other backbones are
refused. Patch size and masking ratio default to
:func:`~infoclr.augment.masking.auto_patch_size` and
:func:`~infoclr.augment.masking.auto_mask_ratio` of the image size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from infoclr.config import option
from infoclr.errors import ConfigError
from infoclr.methods.registry import ContrastiveOptions, register_method

if TYPE_CHECKING:
    from torch import Tensor, nn

    from infoclr.methods.base import ContrastiveMethod
    from infoclr.methods.parts import MethodParts

MaskMode = Literal["drop", "fill"]
DecoderKind = Literal["spatial", "pooled"]

__all__ = ["MRCL", "DecoderKind", "MaskMode", "masked_pass", "masking_mode"]


def masking_mode(backbone: nn.Module) -> MaskMode:
    """How MRCL masks ``backbone``: ``"drop"`` (token dropping) or ``"fill"`` (pixel fill).

    ViT → drop; SmallCNN and ResNetBackbone → fill; any other backbone must declare a class
    attribute ``mask_mode = "drop"`` (and provide ``forward_tokens(images, visible)``,
    ``patch_size`` and ``num_patches``, with features = mean of the tokens) or
    ``mask_mode = "fill"`` (any image encoder). Otherwise a one-line ConfigError.
    """
    from infoclr.models.backbones import ResNetBackbone, SmallCNN, ViT

    declared = getattr(backbone, "mask_mode", None)
    if isinstance(backbone, ViT) or declared == "drop":
        missing = [
            a for a in ("forward_tokens", "patch_size", "num_patches") if not hasattr(backbone, a)
        ]
        if missing:
            raise ConfigError(
                f"backbone {type(backbone).__name__} declares mask_mode='drop' but lacks "
                f"{', '.join(missing)}; add them or declare mask_mode='fill'"
            )
        return "drop"
    if isinstance(backbone, (SmallCNN, ResNetBackbone)) or declared == "fill":
        return "fill"
    raise ConfigError(
        f"backbone {type(backbone).__name__} cannot be masked for mrcl; use smallcnn, resnet18, "
        "resnet50 or vit-tiny, or set mask_mode = 'fill' (or 'drop') on the backbone class"
    )


def _mask_patch_size(mode: MaskMode, backbone: nn.Module, requested: int | None, size: int) -> int:
    from infoclr.augment.masking import auto_patch_size

    if mode == "drop":
        backbone_patch = int(backbone.patch_size)
        if requested is not None and requested != backbone_patch:
            raise ConfigError(
                f"patch_size {requested} differs from the ViT's patch size {backbone_patch}; "
                "a ViT masks whole tokens, so build it with the same patch_size"
            )
        return backbone_patch
    return auto_patch_size(size) if requested is None else requested


def _map_side(backbone: nn.Module, channels: int, image_size: int) -> int:
    """The side h of ``backbone.forward_map`` on (1, C, S, S) inputs, from one dry pass."""
    import torch

    was_training = backbone.training
    backbone.eval()  # a batch of one would break BatchNorm's training statistics
    try:
        with torch.no_grad():
            device = next(iter(backbone.parameters()), torch.zeros(())).device
            dummy = torch.zeros(1, channels, image_size, image_size, device=device)
            side = int(backbone.forward_map(dummy).shape[-1])
    finally:
        backbone.train(was_training)
    return side


def masked_pass(model: ContrastiveMethod, views: Tensor) -> tuple[Tensor, Tensor | None, Tensor]:
    """Encode a masked copy of ``views`` (B, C, S, S).

    Returns ``(projection (B, projection_dim), reconstruction (B, C, S, S) or None when no
    decoder, mask (B, N) bool)``.
    """
    decoder = model.decoder
    if model.mask_mode == "drop":
        mask, visible, _ = model.masking.sample(views.shape[0], views.device)
        tokens = model.backbone.forward_tokens(views, visible)
        projection = model.projector(tokens.mean(dim=1))
        reconstruction = decoder(tokens, visible) if decoder is not None else None
        return projection, reconstruction, mask
    masked_views, mask, _ = model.masking(views)
    if getattr(model, "decoder_input", "pooled") == "spatial":
        feature_map = model.backbone.forward_map(masked_views)
        features = feature_map.mean(dim=(2, 3))
        reconstruction = decoder(feature_map) if decoder is not None else None
    else:
        features = model.backbone(masked_views)
        reconstruction = decoder(features) if decoder is not None else None
    return model.projector(features), reconstruction, mask


@register_method("mrcl")
@dataclass
class MRCL(ContrastiveOptions):
    """Masked reconstruction contrastive learning (reconstruction of arXiv 2211.09013).

    The mask's patch side is the ViT's patch size, the top-level ``patch_size`` when given, or
    :func:`~infoclr.augment.masking.auto_patch_size` of the image size; the ratio is
    ``mask_ratio`` or :func:`~infoclr.augment.masking.auto_mask_ratio` of the patch grid.

    Logged terms: ``contrastive`` (the averaged NT-Xent) and ``reconstruction`` (the averaged,
    unweighted L_rec); ``train/loss`` = contrastive + λ · reconstruction.
    """

    mask_ratio: float | None = option(
        None,
        "ρ, the fraction of patches masked in each view (none: 0.5, or 0.75 from a 14x14 "
        "patch grid up).",
        gt=0,
        lt=1,
    )
    mask_fill: Literal["zero", "learned"] = option(
        "zero", "What a convnet sees in masked patches: 0 or a learned per-channel value."
    )
    rec_weight: float = option(1.0, "λ, the weight of the reconstruction term (0: none).", min=0)
    mask_normalize_target: bool = option(
        True, "Normalise each patch of the reconstruction target (MAE)."
    )
    decoder: DecoderKind = option(
        "spatial",
        "Convnets: decode the masked patches from the feature map before pooling (spatial) or "
        "from the pooled vector (pooled). A ViT always decodes its tokens.",
    )

    def modules(self, parts: MethodParts) -> dict[str, nn.Module]:
        from infoclr.augment.masking import PatchMasking, auto_mask_ratio
        from infoclr.losses import NTXentLoss
        from infoclr.models.decoders import (
            ConvPixelDecoder,
            MaskedTokenDecoder,
            SpatialPixelDecoder,
        )

        backbone = parts.backbone
        mode = masking_mode(backbone)
        # With λ = 0 nothing is decoded, so the pooled path (SimCLR with masking) is used.
        spatial = mode == "fill" and self.decoder == "spatial" and self.rec_weight > 0
        if spatial and not callable(getattr(backbone, "forward_map", None)):
            raise ConfigError(
                f"backbone {type(backbone).__name__} has no forward_map (its feature map before "
                "pooling), which decoder='spatial' reads; add one or use --set decoder=pooled"
            )
        patch = _mask_patch_size(mode, backbone, parts.patch_size, parts.image_size)
        grid = parts.image_size // patch if patch else 0
        ratio = auto_mask_ratio(grid) if self.mask_ratio is None else self.mask_ratio
        masking = PatchMasking(parts.channels, parts.image_size, patch, ratio, self.mask_fill)
        if mode == "drop":
            # A ViT never sees the fill; an unused parameter would break DDP.
            masking.fill_value = None
        decoder = None
        if self.rec_weight > 0:
            if mode == "drop":
                decoder = MaskedTokenDecoder(
                    backbone.feature_dim, int(backbone.num_patches), patch, parts.channels
                )
            elif spatial:
                decoder = SpatialPixelDecoder(
                    backbone.feature_dim,
                    parts.channels,
                    parts.image_size,
                    _map_side(backbone, parts.channels, parts.image_size),
                )
            else:
                decoder = ConvPixelDecoder(backbone.feature_dim, parts.channels, parts.image_size)
        modules: dict[str, Any] = {
            "masking": masking,
            "criterion": NTXentLoss(self.temperature, chunk_size=self.chunk_size),
            "decoder": decoder,
        }
        modules["mask_mode"] = mode
        modules["decoder_input"] = "spatial" if spatial else "pooled"
        return modules

    def loss_step(
        self, model: ContrastiveMethod, images: Tensor, labels: Tensor, index: Tensor
    ) -> tuple[Tensor, dict[str, Any]]:
        from infoclr.functional.masking import masked_patch_mse

        view1, view2 = model.make_views(images)
        z1, z2 = model.project(view1), model.project(view2)
        z1_masked, rec1, mask1 = masked_pass(model, view1)
        z2_masked, rec2, mask2 = masked_pass(model, view2)
        contrastive = 0.5 * (model.criterion(z1_masked, z2) + model.criterion(z2_masked, z1))
        logs: dict[str, Any] = {"contrastive": contrastive.detach()}
        if rec1 is None or rec2 is None:
            return contrastive, logs
        patch = model.masking.patch_size
        normalize = self.mask_normalize_target
        reconstruction = 0.5 * (
            masked_patch_mse(rec1, view1, mask1, patch, normalize)
            + masked_patch_mse(rec2, view2, mask2, patch, normalize)
        )
        logs["reconstruction"] = reconstruction.detach()
        return contrastive + self.rec_weight * reconstruction, logs
