"""Wiring: each method's ``loss_step`` on a fixed batch equals a loop reference built from the
right group ids (labels for SupCon, the batch samples' cluster ids for Cl-InfoNCE and the CE
baseline, instance ids for SimCLR).

The batch is a shuffled subset of the data set, so that a method which looked up the clusters
of the first B rows instead of the batch's samples, or paired the views by instance instead of
by label, computes a different number and fails here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from infoclr.augment import BatchViews, ViewConfig
from infoclr.methods import build_method
from infoclr.models import build_backbone

N, B = 40, 12


def _data() -> tuple[torch.Tensor, np.ndarray, dict[str, np.ndarray]]:
    generator = torch.Generator().manual_seed(5)
    images = torch.randint(0, 256, (N, 1, 8, 8), generator=generator, dtype=torch.uint8)
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 3, N)
    aux = {"group": rng.integers(0, 4, N)}
    return images, labels, aux


def _batch(images: torch.Tensor, labels: np.ndarray) -> tuple[torch.Tensor, ...]:
    index = torch.as_tensor(np.random.default_rng(1).permutation(N)[:B])
    assert not torch.equal(index, torch.arange(B))
    return images[index], torch.as_tensor(labels)[index], index


def _model(name: str, **options):
    images, labels, aux = _data()
    torch.manual_seed(0)
    model = build_method(
        name,
        build_backbone("smallcnn", 1, 8, width=4),
        BatchViews(ViewConfig.for_resolution(8, 1)),
        image_size=8,
        channels=1,
        labels=labels,
        aux=aux,
        projection_dim=8,
        **options,
    )
    return model.train(), images, labels


def _projections(model, images: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    view1, view2 = model.make_view(images), model.make_view(images)
    return model.project(view1), model.project(view2)


def _sup_con_loop(z: torch.Tensor, groups: list[int], temperature: float) -> float:
    """SupCon L_out written out (METHODS.md §0): anchors without a positive are left out."""
    z = torch.nn.functional.normalize(z.double(), dim=1)
    total, anchors = 0.0, 0
    for a in range(len(groups)):
        positives = [p for p in range(len(groups)) if p != a and groups[p] == groups[a]]
        if not positives:
            continue
        log_denominator = math.log(
            sum(math.exp(float(z[a] @ z[b]) / temperature) for b in range(len(groups)) if b != a)
        )
        total += -sum(float(z[a] @ z[p]) / temperature - log_denominator for p in positives) / len(
            positives
        )
        anchors += 1
    return total / anchors


def test_simclr_pairs_the_two_views_of_each_input() -> None:
    model, images, labels = _model("simclr", temperature=0.3)
    batch = _batch(images, labels)
    torch.manual_seed(7)
    loss, _ = model.loss_step(*batch)
    z1, z2 = _projections(model, batch[0], 7)
    instances = list(range(B)) * 2
    assert float(loss) == pytest.approx(
        _sup_con_loop(torch.cat([z1, z2]), instances, 0.3), abs=1e-5
    )


def test_supcon_positives_are_the_views_of_same_label_inputs() -> None:
    model, images, labels = _model("supcon", temperature=0.2)
    batch = _batch(images, labels)
    torch.manual_seed(7)
    loss, _ = model.loss_step(*batch)
    z1, z2 = _projections(model, batch[0], 7)
    groups = labels[batch[2].numpy()].tolist() * 2
    reference = _sup_con_loop(torch.cat([z1, z2]), groups, 0.2)
    assert float(loss) == pytest.approx(reference, abs=1e-5)
    # Not a tautology: pairing by instance (plain SimCLR) gives another number here.
    assert abs(_sup_con_loop(torch.cat([z1, z2]), list(range(B)) * 2, 0.2) - reference) > 1e-3


def test_clinfonce_positives_are_the_batch_samples_clusters() -> None:
    model, images, labels = _model("clinfonce", temperature=0.1, cluster_column="group")
    batch = _batch(images, labels)
    cluster_of = np.unique(_data()[2]["group"], return_inverse=True)[1]
    torch.manual_seed(7)
    loss, _ = model.loss_step(*batch)
    z1, z2 = _projections(model, batch[0], 7)
    groups = cluster_of[batch[2].numpy()].tolist() * 2
    reference = _sup_con_loop(torch.cat([z1, z2]), groups, 0.1)
    assert float(loss) == pytest.approx(reference, abs=1e-5)
    first_rows = cluster_of[:B].tolist() * 2  # the clusters of rows 0..B-1, not of the batch
    assert abs(_sup_con_loop(torch.cat([z1, z2]), first_rows, 0.1) - reference) > 1e-3


def test_ce_clusters_predicts_the_batch_samples_clusters() -> None:
    model, images, labels = _model("ce-clusters", cluster_column="group")
    batch = _batch(images, labels)
    cluster_of = np.unique(_data()[2]["group"], return_inverse=True)[1]
    torch.manual_seed(7)
    loss, logs = model.loss_step(*batch)
    torch.manual_seed(7)
    logits = model.classifier(model.backbone(model.make_view(batch[0]))).double()
    targets = cluster_of[batch[2].numpy()]
    reference = -sum(float(torch.log_softmax(logits[i], dim=0)[targets[i]]) for i in range(B)) / B
    assert float(loss) == pytest.approx(reference, abs=1e-5)
    assert float(logs["cluster_accuracy"]) == pytest.approx(
        float((logits.argmax(1).numpy() == targets).mean())
    )
