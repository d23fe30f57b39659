"""The dense (per-pixel) linear probe: mIoU against a loop, toy cases with known answers, and
the wiring from a backbone's feature map."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from infoclr.augment import EvalView, ViewConfig
from infoclr.errors import ConfigError, DataError
from infoclr.evaluation import dense_probe, dense_probe_maps, segmentation_scores
from infoclr.evaluation.dense import evaluate_dense, extract_feature_maps
from infoclr.models import build_backbone


def _iou_loop(predicted, target, num_classes):
    ious = []
    for c in range(num_classes):
        tp = fp = fn = 0
        for p, t in zip(predicted.flatten().tolist(), target.flatten().tolist(), strict=True):
            tp += p == c and t == c
            fp += p == c and t != c
            fn += p != c and t == c
        ious.append(tp / (tp + fp + fn) if tp + fp + fn else None)
    return ious


def test_segmentation_scores_match_a_loop() -> None:
    generator = torch.Generator().manual_seed(0)
    target = torch.randint(0, 4, (3, 5, 5), generator=generator)
    predicted = torch.randint(0, 4, (3, 5, 5), generator=generator)
    predicted[predicted == 3] = 2  # class 3 only in the target; class 4 nowhere
    miou, class_iou, accuracy = segmentation_scores(predicted, target, 5)
    expected = _iou_loop(predicted, target, 5)
    assert class_iou[4] is None and expected[4] is None
    assert class_iou[:4] == pytest.approx(expected[:4])
    assert miou == pytest.approx(sum(expected[:4]) / 4)
    assert accuracy == pytest.approx(float((predicted == target).float().mean()))
    with pytest.raises(DataError, match="must match"):
        segmentation_scores(predicted[:1], target, 5)


def _blocky(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(one-hot maps (N, 3, 4, 4), masks (N, 8, 8)) whose classes are constant on 2×2 blocks."""
    generator = torch.Generator().manual_seed(seed)
    blocks = torch.randint(0, 3, (count, 4, 4), generator=generator)
    maps = nn.functional.one_hot(blocks, 3).permute(0, 3, 1, 2).float()
    masks = blocks.repeat_interleave(2, 1).repeat_interleave(2, 2)
    return maps, masks


def test_probe_is_perfect_when_the_map_holds_the_answer() -> None:
    # Bilinear upsampling weighs a pixel's own cell at least 9/16, so the one-hot of the right
    # class stays the largest channel everywhere: a linear probe can be exact.
    train_maps, train_masks = _blocky(40, 1)
    test_maps, test_masks = _blocky(20, 2)
    result = dense_probe_maps(train_maps, train_masks, test_maps, test_masks)
    assert result.miou == 1.0 and result.pixel_accuracy == 1.0
    assert result.num_classes == 3 and result.iterations >= 1


def test_probe_on_constant_features_predicts_the_majority_class() -> None:
    _, train_masks = _blocky(40, 3)
    train_masks = torch.where(train_masks == 2, torch.zeros_like(train_masks), train_masks)
    _, test_masks = _blocky(20, 4)
    result = dense_probe_maps(
        torch.zeros(40, 5, 4, 4), train_masks, torch.zeros(20, 5, 4, 4), test_masks
    )
    majority_share = float((test_masks == 0).float().mean())
    # only class 0 is predicted: IoU_0 = its share of the test pixels, every other class 0
    assert result.class_iou[0] == pytest.approx(majority_share)
    assert result.miou == pytest.approx(majority_share / 3)
    assert result.pixel_accuracy == pytest.approx(majority_share)


def test_probe_of_a_backbone_reads_its_feature_map() -> None:
    torch.manual_seed(0)
    backbone = build_backbone("smallcnn", 3, 8, width=4).train()
    images = torch.randint(0, 256, (12, 3, 8, 8), dtype=torch.uint8)
    masks = torch.randint(0, 3, (12, 8, 8))
    view = EvalView(ViewConfig.for_resolution(8, 3))
    maps = extract_feature_maps(backbone, images, view)
    assert backbone.training  # its mode is restored
    backbone.eval()
    with torch.no_grad():
        torch.testing.assert_close(maps, backbone.forward_map(view(images)))
    backbone.train()
    result = dense_probe(
        backbone, images[:8], masks[:8], images[8:], masks[8:], transform=view, iterations=5
    )
    expected = dense_probe_maps(maps[:8], masks[:8], maps[8:], masks[8:], iterations=5)
    assert result == expected


def test_evaluate_dense_needs_masks_and_a_feature_map() -> None:
    class Flat(nn.Module):
        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return images.flatten(1)

    class Data:
        masks = None

    backbone = build_backbone("smallcnn", 3, 8, width=4)
    assert evaluate_dense(backbone, Data(), Data(), None, "cpu") == {}
    with pytest.raises(ConfigError, match="forward_map"):
        extract_feature_maps(Flat(), torch.zeros(2, 3, 8, 8, dtype=torch.uint8))
    maps, masks = _blocky(4, 0)
    with pytest.raises(DataError, match="maps must be"):
        dense_probe_maps(maps, masks[:3], maps, masks)
    with pytest.raises(ConfigError, match="iterations"):
        dense_probe_maps(maps, masks, maps, masks, iterations=0)
