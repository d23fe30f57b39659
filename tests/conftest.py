from __future__ import annotations

import os

# Before torch/faiss load OpenMP: with more threads than free cores (2-core CI machines, parallel
# jobs), spinning OpenMP workers slow every call many times over.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

#: Full-image crops, no jitter, no affine: two views of an image are identical.
_DETERMINISTIC_VIEWS = {
    "crop_scale": (1.0, 1.0),
    "crop_ratio": (1.0, 1.0),
    "jitter_prob": 0.0,
    "rotation": 0.0,
    "translate": 0.0,
    "shear": 0.0,
    "affine_scale": (1.0, 1.0),
}


def _tiny_pretrain_argv(method: str, out: Path, *settings: str) -> list[str]:
    """``infoclr pretrain`` arguments of a 1-epoch small-CNN run of ``method`` on digits (batch
    256, no progress bar) into ``out``, plus ``--set`` for each of ``settings``."""
    argv = ["pretrain", "--method", method, "--dataset", "digits", "--backbone", "smallcnn"]
    argv += ["--epochs", "1", "--batch-size", "256", "-o", str(out), "--no-progress"]
    return argv + [word for setting in settings for word in ("--set", setting)]


@pytest.fixture
def deterministic_views() -> dict:
    """View options under which two views of an image are the image itself."""
    return dict(_DETERMINISTIC_VIEWS)


@pytest.fixture
def tiny_pretrain_argv():
    """``tiny_pretrain_argv(method, out, *settings)``: the arguments of a 1-epoch small-CNN
    ``infoclr pretrain`` run on digits (batch 256) into ``out``, ``--set`` for each setting."""
    return _tiny_pretrain_argv


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present beside the repository")
    return SHARED


def _tiny_run(output_dir: Path, **changes) -> Path:
    """Train a tiny digits run (1 epoch, small CNN of width 8, no baselines, a 5-step probe)
    into ``output_dir`` with ``changes`` to that config; returns its run folder."""
    from infoclr.pretrain import PretrainConfig, pretrain

    settings = dict(epochs=1, backbone_width=8, batch_size=128, knn_every=0, probe_epochs=5)
    settings.update(baselines=False, projection_dim=16, output_dir=str(output_dir))
    config = PretrainConfig(**(settings | changes))
    return pretrain(config, progress=False, echo=lambda *_: None).run_dir


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny digits run (:func:`_tiny_run`), shared by the tests that only read a run
    folder (embed, export)."""
    return _tiny_run(tmp_path_factory.mktemp("runs"))


@pytest.fixture
def tiny_run():
    """``tiny_run(output_dir, **changes)``: train a tiny digits run with ``changes`` to its
    config (:func:`_tiny_run`) and return its run folder."""
    return _tiny_run


def _tiny_parts(size: int = 8, **changes):
    """MethodParts of a grey ``size`` px small CNN of width 4 (seeded), with ``changes``."""
    from infoclr.augment import BatchViews, ViewConfig
    from infoclr.methods import MethodParts
    from infoclr.models import build_backbone

    torch.manual_seed(0)
    return MethodParts(
        backbone=build_backbone("smallcnn", 1, size, width=4),
        views=BatchViews(ViewConfig.for_resolution(size, 1)),
        image_size=size,
        channels=1,
        projection_dim=8,
        **changes,
    )


@pytest.fixture
def tiny_parts():
    """``tiny_parts(size=8, **changes)``: :func:`_tiny_parts`, for building a method directly."""
    return _tiny_parts
