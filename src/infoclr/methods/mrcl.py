"""MRCL: masked reconstruction contrastive learning, **as infoclr reconstructs it**.

Liu, Li, Han, Guo, Nie, "Masked Reconstruction Contrastive Learning with Information Bottleneck
Principle", arXiv 2211.09013. The paper's body could not be read and no official code exists;
the objective below is the reconstruction of docs/METHODS.md §3 (details in docs/objectives.md):

    L = ½ [ NT-Xent(z(m(v1)), z(v2)) + NT-Xent(z(m(v2)), z(v1)) ]
        + λ · ½ [ L_rec(D(e(m(v1))), v1; M1) + L_rec(D(e(m(v2))), v2; M2) ]

* v1, v2: two SimCLR views of each input (normalised pixels); m(·) masks a random ρ fraction
  of square patches (fresh masks M1, M2 per sample and direction);
* e: the backbone; z: projection head of the pooled features; D: a light decoder;
* L_rec: MAE's MSE on per-patch-normalised pixels over the masked patches only
  (:func:`~infoclr.functional.masked_patch_mse`);
* symmetrised: each view takes its turn as the masked one, and both directions are averaged.

How a backbone is masked: a ViT (or any backbone with ``mask_mode = "drop"``) drops the masked
tokens and is decoded by :class:`~infoclr.models.decoders.MaskedTokenDecoder`; ``smallcnn`` and
the ResNets (or any backbone with ``mask_mode = "fill"``) see the masked patches filled with 0 or
a learned per-channel value in normalised pixel space, and are decoded from their pooled
features by :class:`~infoclr.models.decoders.ConvPixelDecoder`. Other backbones are refused.
"""

from __future__ import annotations

from typing import Any, Literal

from torch import Tensor, nn

from infoclr.augment.masking import MaskFill, PatchMasking, auto_patch_size
from infoclr.errors import ConfigError
from infoclr.functional.masking import masked_patch_mse
from infoclr.losses import NTXentLoss
from infoclr.methods import MethodParts, _common, register_method
from infoclr.methods.base import ContrastiveMethod
from infoclr.models.backbones import ResNetBackbone, SmallCNN, ViT
from infoclr.models.decoders import ConvPixelDecoder, MaskedTokenDecoder

MaskMode = Literal["drop", "fill"]

__all__ = ["MRCL", "MaskMode", "masking_mode"]


def masking_mode(backbone: nn.Module) -> MaskMode:
    """How MRCL masks ``backbone``: ``"drop"`` (token dropping) or ``"fill"`` (pixel fill).

    ViT → drop; SmallCNN and ResNetBackbone → fill; any other backbone must declare a class
    attribute ``mask_mode = "drop"`` (and provide ``forward_tokens(images, visible)``,
    ``patch_size`` and ``num_patches``, with features = mean of the tokens) or
    ``mask_mode = "fill"`` (any image encoder). Otherwise a one-line ConfigError.
    """
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


class MRCL(ContrastiveMethod):
    """Masked reconstruction contrastive learning (reconstruction of arXiv 2211.09013).

    Extra args (besides those of :class:`~infoclr.methods.base.ContrastiveMethod`):
        image_size, channels: the view size S and channel count C (for masking and decoding).
        temperature: NT-Xent temperature τ.
        chunk_size: NT-Xent anchor chunking (memory).
        mask_ratio: ρ in (0, 1); ``round(ρ · N)`` of the N patches are masked.
        rec_weight: λ ≥ 0, the weight of the reconstruction term (0: no decoder is built).
        patch_size: masking patch side; None = the ViT's patch size, or for convnets
            :func:`~infoclr.augment.masking.auto_patch_size`. Must divide S.
        mask_fill: ``"zero"`` or ``"learned"`` (convnets only; a ViT drops tokens).
        normalize_target: per-patch normalisation of the reconstruction target (MAE).
        decoder: a custom decoder; default ConvPixelDecoder (fill) / MaskedTokenDecoder (drop).

    Logged terms: ``contrastive`` (the averaged NT-Xent) and ``reconstruction`` (the averaged,
    unweighted L_rec); ``train/loss`` = contrastive + λ · reconstruction.
    """

    def __init__(
        self,
        *args: Any,
        image_size: int,
        channels: int,
        temperature: float = 0.5,
        chunk_size: int | None = None,
        mask_ratio: float = 0.5,
        rec_weight: float = 1.0,
        patch_size: int | None = None,
        mask_fill: MaskFill = "zero",
        normalize_target: bool = True,
        decoder: nn.Module | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(*args, **kw)
        if not rec_weight >= 0:
            raise ConfigError(f"rec_weight must be >= 0, got {rec_weight}")
        self.mode = masking_mode(self.backbone)
        if self.mode == "drop":
            backbone_patch = int(self.backbone.patch_size)
            if patch_size is not None and patch_size != backbone_patch:
                raise ConfigError(
                    f"patch_size {patch_size} differs from the ViT's patch size {backbone_patch}; "
                    "a ViT masks whole tokens, so build it with the same patch_size"
                )
            patch_size = backbone_patch
        elif patch_size is None:
            patch_size = auto_patch_size(image_size)
        self.masking = PatchMasking(channels, image_size, patch_size, mask_ratio, mask_fill)
        if self.mode == "drop" and self.masking.fill_value is not None:
            # A ViT never sees the fill; an unused parameter would break DDP.
            self.masking.fill_value = None
        self.criterion = NTXentLoss(temperature, chunk_size=chunk_size)
        self.rec_weight = rec_weight
        self.normalize_target = normalize_target
        self.patch_size = patch_size
        if decoder is None and rec_weight > 0:
            feature_dim = self.backbone.feature_dim
            if self.mode == "drop":
                decoder = MaskedTokenDecoder(
                    feature_dim, int(self.backbone.num_patches), patch_size, channels
                )
            else:
                decoder = ConvPixelDecoder(feature_dim, channels, image_size)
        self.decoder = decoder

    def masked_pass(self, views: Tensor) -> tuple[Tensor, Tensor | None, Tensor]:
        """Encode a masked copy of ``views`` (B, C, S, S).

        Returns ``(projection (B, projection_dim), reconstruction (B, C, S, S) or None when no
        decoder, mask (B, N) bool)``.
        """
        if self.mode == "drop":
            mask, visible, _ = self.masking.sample(views.shape[0], views.device)
            tokens = self.backbone.forward_tokens(views, visible)
            projection = self.projector(tokens.mean(dim=1))
            reconstruction = self.decoder(tokens, visible) if self.decoder is not None else None
            return projection, reconstruction, mask
        masked_views, mask, _ = self.masking(views)
        features = self.backbone(masked_views)
        reconstruction = self.decoder(features) if self.decoder is not None else None
        return self.projector(features), reconstruction, mask

    def loss_step(self, images: Tensor, labels: Tensor, index: Tensor) -> tuple[Tensor, dict]:
        view1 = self.make_view(images)
        view2 = self.make_view(images)
        z1, z2 = self.project(view1), self.project(view2)
        z1_masked, rec1, mask1 = self.masked_pass(view1)
        z2_masked, rec2, mask2 = self.masked_pass(view2)
        contrastive = 0.5 * (self.criterion(z1_masked, z2) + self.criterion(z2_masked, z1))
        logs: dict[str, Tensor] = {"contrastive": contrastive.detach()}
        if rec1 is None or rec2 is None:
            return contrastive, logs
        reconstruction = 0.5 * (
            masked_patch_mse(rec1, view1, mask1, self.patch_size, self.normalize_target)
            + masked_patch_mse(rec2, view2, mask2, self.patch_size, self.normalize_target)
        )
        logs["reconstruction"] = reconstruction.detach()
        return contrastive + self.rec_weight * reconstruction, logs


@register_method("mrcl")
def _mrcl(config: Any, parts: MethodParts) -> ContrastiveMethod:
    # Everything MRCL can refuse (backbone, patch size, ratio) is checked here, inside
    # prepare(), before a run folder exists.
    return MRCL(
        image_size=parts.image_size,
        channels=parts.channels,
        temperature=config.resolved_temperature(),
        chunk_size=config.chunk_size,
        mask_ratio=config.mask_ratio,
        rec_weight=config.rec_weight,
        patch_size=config.patch_size,
        mask_fill=config.mask_fill,
        normalize_target=config.mask_normalize_target,
        **_common(config, parts),
    )
