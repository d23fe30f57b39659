"""MRCL (reconstruction of arXiv 2211.09013): wiring against a slow reference, masking
behaviour per backbone, configuration errors, and end-to-end training with resume."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from torch import nn

import infoclr.pretrain as pretrain_module
from infoclr.augment import BatchViews, ViewConfig
from infoclr.augment.masking import (
    PatchMasking,
    apply_patch_mask,
    auto_mask_ratio,
    auto_patch_size,
)
from infoclr.cli import main
from infoclr.errors import ConfigError
from infoclr.functional import nt_xent, patch_mask_to_pixels, random_patch_mask
from infoclr.methods import ContrastiveMethod, build_method
from infoclr.methods.mrcl import masked_pass, masking_mode
from infoclr.models import BACKBONES, build_backbone
from infoclr.models.decoders import ConvPixelDecoder, MaskedTokenDecoder, SpatialPixelDecoder
from infoclr.pretrain import PretrainConfig, pretrain


def _images(batch: int = 8, channels: int = 1, size: int = 8) -> torch.Tensor:
    generator = torch.Generator().manual_seed(7)
    return torch.randint(
        0, 256, (batch, channels, size, size), generator=generator, dtype=torch.uint8
    )


def _views(size: int = 8, channels: int = 1) -> BatchViews:
    return BatchViews(ViewConfig.for_resolution(size, channels))


def _mrcl(backbone: str = "smallcnn", **kw) -> ContrastiveMethod:
    options = dict(width=8) if backbone == "smallcnn" else dict(dim=16, depth=1, heads=2)
    net = build_backbone(backbone, 1, 8, **options)
    return build_method("mrcl", net, _views(), image_size=8, channels=1, **kw)


def _fill_loop(views: torch.Tensor, mask: torch.Tensor, patch: int, fill) -> torch.Tensor:
    out = views.clone()
    grid = views.shape[-1] // patch
    for b in range(views.shape[0]):
        for y in range(views.shape[2]):
            for x in range(views.shape[3]):
                if mask[b, (y // patch) * grid + x // patch]:
                    for c in range(views.shape[1]):
                        out[b, c, y, x] = 0.0 if fill is None else fill[c]
    return out


def _pixels(mask: torch.Tensor) -> torch.Tensor:
    return patch_mask_to_pixels(mask, 2)


def _patch_mse_loop(prediction, target, mask, patch) -> torch.Tensor:
    grid = target.shape[-1] // patch
    losses = []
    for b in range(target.shape[0]):
        for n in range(grid * grid):
            if mask[b, n]:
                row, col = divmod(n, grid)
                window = (
                    slice(None),
                    slice(row * patch, (row + 1) * patch),
                    slice(col * patch, (col + 1) * patch),
                )
                t = target[b][window].flatten()
                t = (t - t.mean()) / (t.var(unbiased=False) + 1e-6).sqrt()
                losses.append((prediction[b][window].flatten() - t).pow(2).mean())
    return torch.stack(losses).mean()


@pytest.mark.parametrize(
    ("fill", "decoder"), [("zero", "pooled"), ("learned", "pooled"), ("learned", "spatial")]
)
def test_loss_matches_slow_reference_convnet(fill: str, decoder: str) -> None:
    method = _mrcl(mask_fill=fill, rec_weight=0.7, temperature=0.3, decoder=decoder)
    expected_decoder = SpatialPixelDecoder if decoder == "spatial" else ConvPixelDecoder
    assert isinstance(method.decoder, expected_decoder)
    if method.masking.fill_value is not None:
        with torch.no_grad():
            method.masking.fill_value.fill_(0.25)
    method.train()
    reference = copy.deepcopy(method)
    images = _images()
    torch.manual_seed(11)
    loss, logs = method.loss_step(images, None, None)

    # The same RNG order by hand: view 1, view 2, mask of view 1, mask of view 2.
    torch.manual_seed(11)
    view1, view2 = reference.views(images), reference.views(images)
    z1, z2 = reference.project(view1), reference.project(view2)
    fill_value = None if fill == "zero" else [0.25]
    terms = []
    for own, other_z in ((view1, z2), (view2, z1)):
        mask = random_patch_mask(8, 4, 0.5)[0]
        masked = _fill_loop(own, mask, 2, fill_value)
        features = reference.backbone(masked)
        contrast = nt_xent(reference.projector(features), other_z, 0.3)
        # spatial: the decoder reads the feature map before pooling, not the pooled vector
        decoded = reference.backbone.forward_map(masked) if decoder == "spatial" else features
        rec = _patch_mse_loop(reference.decoder(decoded), own, mask, 2)
        terms.append((contrast, rec))
    contrastive = 0.5 * (terms[0][0] + terms[1][0])
    reconstruction = 0.5 * (terms[0][1] + terms[1][1])
    torch.testing.assert_close(logs["contrastive"], contrastive.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(
        logs["reconstruction"], reconstruction.detach(), rtol=1e-5, atol=1e-6
    )
    torch.testing.assert_close(loss, contrastive + 0.7 * reconstruction, rtol=1e-5, atol=1e-6)


def test_fill_hides_masked_pixels_and_learned_fill_trains() -> None:
    masking = PatchMasking(channels=3, image_size=8, patch_size=4, ratio=0.5, fill="learned")
    views = torch.randn(2, 3, 8, 8)
    mask = torch.tensor([[True, False, False, True], [False, True, True, False]])
    with torch.no_grad():
        masking.fill_value.copy_(torch.tensor([1.0, 2.0, 3.0]))
    masked = apply_patch_mask(views, mask, 4, masking.fill_value)
    torch.testing.assert_close(masked, _fill_loop(views, mask, 4, [1.0, 2.0, 3.0]))
    masked.sum().backward()
    # each channel's fill covers 2 masked patches of 16 pixels per sample, 2 samples
    torch.testing.assert_close(masking.fill_value.grad, torch.full((3,), 64.0))


def test_vit_drops_masked_tokens() -> None:
    method = _mrcl("vit-tiny", rec_weight=1.0)
    assert method.mask_mode == "drop" and isinstance(method.decoder, MaskedTokenDecoder)
    assert method.masking.fill_value is None
    method.eval()
    views = torch.randn(4, 1, 8, 8)
    torch.manual_seed(3)
    z, rec, mask = masked_pass(method, views)
    assert rec.shape == views.shape and mask.sum(1).tolist() == [8] * 4
    changed = torch.where(_pixels(mask), torch.randn_like(views) * 5, views)
    torch.manual_seed(3)
    z_changed, _, mask_again = masked_pass(method, changed)
    assert torch.equal(mask, mask_again)
    torch.testing.assert_close(z, z_changed)  # masked pixels never reach the encoder
    torch.manual_seed(3)
    changed_visible = torch.where(_pixels(mask), views, views + 1.0)
    assert not torch.allclose(masked_pass(method, changed_visible)[0], z)


def test_convnet_never_sees_masked_pixels() -> None:
    method = _mrcl("smallcnn").eval()
    assert method.mask_mode == "fill" and isinstance(method.decoder, SpatialPixelDecoder)
    views = torch.randn(4, 1, 8, 8)
    torch.manual_seed(5)
    z, _, mask = masked_pass(method, views)
    torch.manual_seed(5)
    changed = torch.where(_pixels(mask), views * 3 - 1, views)
    torch.testing.assert_close(masked_pass(method, changed)[0], z)


def test_gradients_reach_encoder_decoder_and_fill() -> None:
    method = _mrcl(mask_fill="learned")
    loss, _ = method.loss_step(_images(), None, None)
    loss.backward()
    for name, module in (
        ("backbone", method.backbone),
        ("decoder", method.decoder),
        ("projector", method.projector),
    ):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters()), name
    assert method.masking.fill_value.grad.abs().sum() > 0


def test_zero_rec_weight_builds_no_decoder_and_logs_only_contrast() -> None:
    method = _mrcl(rec_weight=0.0)
    assert method.decoder is None
    loss, logs = method.loss_step(_images(), None, None)
    assert set(logs) == {"contrastive"}
    torch.testing.assert_close(loss.detach(), logs["contrastive"])


def test_masking_mode_per_backbone() -> None:
    assert masking_mode(build_backbone("smallcnn", 1, 8, width=4)) == "fill"
    assert masking_mode(build_backbone("vit-tiny", 1, 8, dim=16, depth=1, heads=2)) == "drop"
    assert masking_mode(build_backbone("resnet18", 3, 32)) == "fill"

    class Declared(nn.Module):
        mask_mode = "fill"

    assert masking_mode(Declared()) == "fill"
    with pytest.raises(ConfigError, match="cannot be masked"):
        masking_mode(nn.Linear(4, 4))


def test_constructor_errors() -> None:
    with pytest.raises(ConfigError, match="does not divide"):
        _mrcl(patch_size=3)
    with pytest.raises(ConfigError, match="differs from the ViT"):
        _mrcl("vit-tiny", patch_size=4)
    with pytest.raises(ConfigError, match="at least one patch"):
        _mrcl(patch_size=4, mask_ratio=0.1)  # 4 patches, round(0.4) = 0 masked
    with pytest.raises(ConfigError, match="mask_fill"):
        _mrcl(mask_fill="noise")
    with pytest.raises(ConfigError, match="decoder"):
        _mrcl(decoder="pixels")
    sizes = {size: auto_patch_size(size) for size in (8, 16, 24, 28, 30, 32, 64, 224)}
    assert sizes == {8: 2, 16: 2, 24: 4, 28: 4, 30: 5, 32: 4, 64: 8, 224: 16}
    assert (auto_mask_ratio(4), auto_mask_ratio(13), auto_mask_ratio(14)) == (0.5, 0.5, 0.75)


class _FillOnly(nn.Module):
    """A fill-maskable backbone without a feature map."""

    mask_mode = "fill"

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(64, 8)
        self.feature_dim = 8

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layer(images.flatten(1))


def test_spatial_decoder_needs_a_feature_map() -> None:
    def build(**kw):
        return build_method("mrcl", _FillOnly(), _views(), image_size=8, channels=1, **kw)

    with pytest.raises(ConfigError, match="decoder=pooled"):
        build()
    assert isinstance(build(decoder="pooled").decoder, ConvPixelDecoder)
    assert build(rec_weight=0.0).decoder is None  # nothing decoded: no feature map needed


def test_spatial_decoder_shapes() -> None:
    # ⌈S/h⌉ pixel shuffle, resized when h does not divide S
    for size, side in ((24, 12), (28, 7), (30, 4)):
        decoder = SpatialPixelDecoder(16, 3, size, side)
        assert decoder(torch.randn(2, 16, side, side)).shape == (2, 3, size, size)


def test_default_geometry_follows_the_image_size() -> None:
    method = _mrcl()
    assert method.method.mask_ratio is None and method.method.decoder == "spatial"
    assert (method.masking.patch_size, method.masking.ratio) == (2, 0.5)
    assert method.decoder_input == "spatial"


class _Flat(nn.Module):
    """A backbone with no masking support, as a user might register one."""

    def __init__(self, in_channels: int, image_size: int, **_: object) -> None:
        super().__init__()
        self.layer = nn.Linear(in_channels * image_size**2, 8)
        self.feature_dim = 8

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layer(images.flatten(1))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "mask_ratio=1.5"], "mask_ratio"),
        (["--set", "rec_weight=-1"], "rec_weight"),
        (["--set", "patch_size=3"], "patch_size 3 does not divide"),
        (["--backbone", "flat-test"], "cannot be masked"),
        (["--set", "mask_fill=noise"], "mask_fill"),
        (["--set", "decoder=pixels"], "decoder"),
    ],
)
def test_cli_rejects_bad_configuration(args, message, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(BACKBONES, "flat-test", _Flat)
    code = main(
        [
            "pretrain",
            "--method",
            "mrcl",
            "--dataset",
            "digits",
            "--backbone",
            "smallcnn",
            "-o",
            str(tmp_path),
            "--no-progress",
            *args,
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error:") and message in err and "\n" not in err
    assert not any(tmp_path.iterdir())  # refused before a run folder exists


def _tiny_config(tmp_path: Path, **kw) -> PretrainConfig:
    return PretrainConfig.from_mapping(
        dict(
            method="mrcl",
            dataset="digits",
            backbone="smallcnn",
            backbone_width=8,
            batch_size=256,
            knn_every=0,
            baselines=False,
            probe_epochs=5,
            precision="32",
            output_dir=str(tmp_path),
            **kw,
        )
    )


def test_cli_trains_and_python_api_resumes(tmp_path: Path, monkeypatch, tiny_pretrain_argv) -> None:
    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C after the first epoch's checkpoint, before evaluation

    with monkeypatch.context() as patch:
        patch.setattr(pretrain_module, "_evaluate", killed)
        code = main(
            tiny_pretrain_argv(
                "mrcl",
                tmp_path,
                "backbone_width=8",
                "knn_every=0",
                "precision=32",
                "mask_fill=learned",
                "mask_ratio=0.75",
                "rec_weight=0.5",
                "decoder=spatial",
            )
        )
    assert code == 130
    run_dir = tmp_path / "mrcl-digits"
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    steps_per_epoch = 1257 // 256
    first = torch.load(checkpoint, map_location="cpu", weights_only=False)
    assert first["global_step"] == steps_per_epoch
    assert not (run_dir / "metrics.json").exists()

    config = _tiny_config(
        tmp_path, epochs=2, mask_fill="learned", mask_ratio=0.75, rec_weight=0.5, decoder="spatial"
    )
    result = pretrain(config, resume=True, progress=False, echo=lambda *_: None)
    assert result.run_dir == run_dir
    assert result.metrics["epochs"] == 2
    assert result.metrics["linear_top1"] > 0.2  # above twice chance (10 classes)
    second = torch.load(checkpoint, map_location="cpu", weights_only=False)
    assert second["global_step"] == 2 * steps_per_epoch
    # it continued (global step above), and metrics.json covers the whole run: both parts
    assert result.metrics["run_parts"] == 2
    images_trained = result.metrics["images_per_second"] * result.metrics["train_seconds"]
    assert round(images_trained / 256) == 2 * steps_per_epoch
    assert "masking.fill_value" in second["state_dict"]
    assert "decoder.layers.0.weight" in second["state_dict"]  # the spatial decoder trained
    log = (run_dir / "logs" / "csv" / "metrics.csv").read_text()
    assert "train/contrastive" in log and "train/reconstruction" in log


def test_config_keys_reach_the_method() -> None:
    from infoclr.pretrain import prepare

    config = PretrainConfig.from_mapping(
        dict(
            method="mrcl",
            dataset="digits",
            backbone="smallcnn",
            backbone_width=4,
            mask_ratio=0.3,
            rec_weight=0.7,
            mask_fill="learned",
            mask_normalize_target=False,
            patch_size=4,
            decoder="pooled",
        )
    )
    method = prepare(config).model
    options = method.method
    assert (options.rec_weight, options.mask_normalize_target) == (0.7, False)
    assert method.masking.patch_size == 4
    assert (method.masking.ratio, method.masking.fill_mode) == (0.3, "learned")
    assert method.masking.fill_value is not None  # the learned fill exists
    assert isinstance(method.decoder, ConvPixelDecoder) and method.decoder_input == "pooled"
