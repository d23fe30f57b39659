"""SuperInfo (reconstruction of arXiv 2408.10292): exact SimCLR at λ2 = λ3 = 0, the full loss
against a slow reference, the λ2 annealing, configuration errors, training and resume."""

from __future__ import annotations

import copy
import csv
import math
from pathlib import Path

import pytest
import torch

import infoclr.pretrain as pretrain_module
from infoclr.augment import BatchViews, ViewConfig
from infoclr.cli import main
from infoclr.errors import ConfigError
from infoclr.functional import nt_xent
from infoclr.methods import ContrastiveMethod, build_method
from infoclr.methods.superinfo import annealed_weight, training_progress
from infoclr.models import build_backbone
from infoclr.pretrain import PretrainConfig, pretrain


def _images(batch: int = 8) -> torch.Tensor:
    generator = torch.Generator().manual_seed(2)
    return torch.randint(0, 256, (batch, 1, 8, 8), generator=generator, dtype=torch.uint8)


def _views() -> BatchViews:
    return BatchViews(ViewConfig.for_resolution(8, 1))


def SuperInfo(backbone, views, **kw) -> ContrastiveMethod:  # noqa: N802 - reads like a class
    return build_method("superinfo", backbone, views, **kw)


def _pair(**kw) -> tuple[ContrastiveMethod, ContrastiveMethod]:
    """A SimCLR and a SuperInfo with identical backbone and projector weights."""
    net = build_backbone("smallcnn", 1, 8, width=8)
    simclr = build_method("simclr", net, _views(), image_size=8, channels=1, temperature=0.4)
    superinfo = SuperInfo(
        copy.deepcopy(simclr.backbone), _views(), image_size=8, channels=1, temperature=0.4, **kw
    )
    superinfo.projector.load_state_dict(simclr.projector.state_dict())
    return simclr, superinfo


@pytest.mark.parametrize("seed", [0, 1])
def test_zero_information_terms_reproduce_simclr_exactly(seed: int) -> None:
    simclr, superinfo = _pair(lambda_superfluous=0.0, lambda_rec=0.0)
    assert superinfo.gaussian_head is None and superinfo.decoder is None
    assert set(superinfo.state_dict()) == set(simclr.state_dict())
    images = _images()
    for _ in range(2):  # two steps: BatchNorm running statistics evolve identically too
        torch.manual_seed(seed)
        expected = simclr.loss_step(images, None, None)[0]
        torch.manual_seed(seed)
        loss, logs = superinfo.loss_step(images, None, None)
        assert abs(float(loss) - float(expected)) <= 1e-6
        assert set(logs) == {"predictive"}
        simclr.zero_grad()
        superinfo.zero_grad()
        expected.backward()
        loss.backward()
        theirs = dict(simclr.named_parameters())
        for name, parameter in superinfo.named_parameters():
            torch.testing.assert_close(parameter.grad, theirs[name].grad, rtol=0, atol=1e-6)
    for name, buffer in superinfo.named_buffers():
        torch.testing.assert_close(buffer, dict(simclr.named_buffers())[name])


def test_sampling_breaks_the_equivalence() -> None:
    # The equivalence test above can fail: with noise forced on, the loss differs.
    simclr, superinfo = _pair(
        lambda_superfluous=0.0, lambda_rec=0.0, sample=True, initial_logvar=0.0
    )
    images = _images()
    torch.manual_seed(0)
    expected = simclr.loss_step(images, None, None)[0]
    torch.manual_seed(0)
    loss = superinfo.loss_step(images, None, None)[0]
    assert abs(float(loss) - float(expected)) > 1e-3


def _kl_loop(mu_p, logvar_p, mu_q, logvar_q) -> torch.Tensor:
    rows = []
    for b in range(mu_p.shape[0]):
        total = torch.zeros((), dtype=torch.float64)
        for d in range(mu_p.shape[1]):
            var_p, var_q = logvar_p[b, d].double().exp(), logvar_q[b, d].double().exp()
            diff = (mu_p[b, d] - mu_q[b, d]).double()
            forward = 0.5 * (torch.log(var_q / var_p) + (var_p + diff**2) / var_q - 1)
            backward = 0.5 * (torch.log(var_p / var_q) + (var_q + diff**2) / var_p - 1)
            total = total + 0.5 * (forward + backward)
        rows.append(total)
    return torch.stack(rows)


def test_full_loss_matches_slow_reference() -> None:
    method = SuperInfo(
        build_backbone("smallcnn", 1, 8, width=8),
        _views(),
        image_size=8,
        channels=1,
        temperature=0.5,
        lambda_pred=0.8,
        lambda_superfluous=0.05,
        lambda_rec=0.3,
        initial_logvar=-1.0,
    )
    with torch.no_grad():  # a non-trivial log-variance head
        method.gaussian_head.logvar.weight.normal_(0, 0.1)
    method.anneal_progress = 1.0
    reference = copy.deepcopy(method)
    images = _images()
    torch.manual_seed(9)
    loss, logs = method.loss_step(images, None, None)

    torch.manual_seed(9)
    view1, view2 = reference.views(images), reference.views(images)
    f1, f2 = reference.backbone(view1), reference.backbone(view2)
    head = reference.gaussian_head.logvar
    logvar1, logvar2 = head(f1), head(f2)
    z1 = f1 + torch.exp(0.5 * logvar1) * torch.randn(f1.shape)
    z2 = f2 + torch.exp(0.5 * logvar2) * torch.randn(f2.shape)
    predictive = nt_xent(reference.projector(z1), reference.projector(z2), 0.5)
    superfluous = _kl_loop(f1, logvar1, f2, logvar2).mean()
    pixels = view1[0].numel()
    rec1 = ((reference.decoder(z1) - view1) ** 2).sum((1, 2, 3)) / pixels
    rec2 = ((reference.decoder(z2) - view2) ** 2).sum((1, 2, 3)) / pixels
    reconstruction = 0.5 * (rec1.mean() + rec2.mean())
    expected = 0.8 * predictive + 0.05 * superfluous.float() + 0.3 * reconstruction
    torch.testing.assert_close(logs["predictive"], predictive.detach())
    torch.testing.assert_close(
        logs["superfluous"].double(), superfluous.detach(), rtol=1e-5, atol=1e-6
    )
    torch.testing.assert_close(logs["reconstruction"], reconstruction.detach())
    assert logs["lambda_superfluous"] == 0.05
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-6)
    loss.backward()
    assert method.gaussian_head.logvar.weight.grad.abs().sum() > 0
    assert all(p.grad is not None for p in method.decoder.parameters())


def test_annealed_weight_schedules() -> None:
    target, fraction = 1e-2, 0.2
    assert annealed_weight(target, 0.0, fraction) == pytest.approx(1e-4)
    assert annealed_weight(target, 0.1, fraction) == pytest.approx(math.sqrt(1e-4 * 1e-2))
    assert annealed_weight(target, 0.2, fraction) == target
    assert annealed_weight(target, 0.9, fraction) == target
    assert annealed_weight(target, 0.1, fraction, schedule="linear") == pytest.approx(
        (1e-4 + 1e-2) / 2
    )
    assert annealed_weight(0.0, 0.0, fraction) == 0.0
    assert annealed_weight(1e-5, 0.0, fraction) == 1e-5  # a target below the start is flat
    assert annealed_weight(target, 0.0, 0.0) == target
    values = [annealed_weight(target, p / 100, fraction) for p in range(0, 30)]
    assert values == sorted(values)


def test_method_reads_progress_and_rejects_bad_arguments() -> None:
    method = SuperInfo(
        build_backbone("smallcnn", 1, 8, width=4),
        _views(),
        image_size=8,
        channels=1,
        lambda_superfluous=0.1,
        anneal_fraction=0.5,
        anneal_schedule="linear",
    )
    assert training_progress(method) == 1.0  # not fitting: the target weight
    method.anneal_progress = 0.25
    expected = pytest.approx(1e-4 + (0.1 - 1e-4) * 0.5)
    assert method.method.current_lambda_superfluous(method) == expected
    with pytest.raises(ConfigError, match="lambda_rec"):
        SuperInfo(
            build_backbone("smallcnn", 1, 8, width=4),
            _views(),
            image_size=8,
            channels=1,
            lambda_rec=-0.1,
        )
    with pytest.raises(ConfigError, match="anneal_schedule"):
        SuperInfo(
            build_backbone("smallcnn", 1, 8, width=4),
            _views(),
            image_size=8,
            channels=1,
            anneal_schedule="cosine",
        )


def test_every_coefficient_reaches_the_method_from_the_config() -> None:
    from infoclr.pretrain import prepare

    config = PretrainConfig.from_mapping(
        dict(
            method="superinfo",
            dataset="digits",
            backbone="smallcnn",
            backbone_width=4,
            lambda_pred=0.5,
            lambda_superfluous=0.02,
            lambda_rec=0.3,
            anneal_fraction=0.4,
            anneal_start=1e-3,
            anneal_schedule="linear",
            initial_logvar=-2.0,
            temperature=0.3,
        )
    )
    method = prepare(config).model
    options = method.method
    assert (options.lambda_pred, options.lambda_superfluous, options.lambda_rec) == (0.5, 0.02, 0.3)
    assert (options.anneal_fraction, options.anneal_start) == (0.4, 1e-3)
    assert options.anneal_schedule == "linear"
    assert method.criterion.temperature == 0.3
    bias = method.gaussian_head.logvar.bias
    assert torch.equal(bias, torch.full_like(bias, -2.0))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "lambda_superfluous=-0.1"], "lambda_superfluous"),
        (["--set", "lambda_rec=-1"], "lambda_rec"),
        (["--set", "lambda_pred=-1"], "lambda_pred"),
        (["--set", "anneal_fraction=1.5"], "anneal_fraction"),
        (["--set", "anneal_start=0"], "anneal_start"),
        (["--set", "anneal_schedule=cosine"], "anneal_schedule"),
    ],
)
def test_cli_rejects_bad_configuration(args, message, tmp_path: Path, capsys) -> None:
    code = main(
        [
            "pretrain",
            "--method",
            "superinfo",
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
    assert not any(tmp_path.iterdir())


def test_cli_trains_and_python_api_resumes(tmp_path: Path, monkeypatch) -> None:
    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # a kill after the first epoch's checkpoint

    with monkeypatch.context() as patch:
        patch.setattr(pretrain_module, "_evaluate", killed)
        code = main(
            [
                "pretrain",
                "--method",
                "superinfo",
                "--dataset",
                "digits",
                "--backbone",
                "smallcnn",
                "--epochs",
                "1",
                "--batch-size",
                "256",
                "-o",
                str(tmp_path),
                "--no-progress",
                "--set",
                "backbone_width=8",
                "--set",
                "knn_every=0",
                "--set",
                "precision=32",
                "--set",
                "lambda_superfluous=0.01",
                "--set",
                "lambda_rec=0.1",
                "--set",
                "anneal_fraction=1.0",
            ]
        )
    assert code == 130
    run_dir = tmp_path / "superinfo-digits"
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    steps_per_epoch = 1257 // 256
    first = torch.load(checkpoint, map_location="cpu", weights_only=False)
    assert first["global_step"] == steps_per_epoch

    config = PretrainConfig.from_mapping(
        dict(
            method="superinfo",
            dataset="digits",
            backbone="smallcnn",
            backbone_width=8,
            batch_size=256,
            knn_every=0,
            baselines=False,
            probe_epochs=5,
            precision="32",
            output_dir=str(tmp_path),
            epochs=2,
            lambda_superfluous=0.01,
            lambda_rec=0.1,
            anneal_fraction=1.0,
        )
    )
    result = pretrain(config, resume=True, progress=False, echo=lambda *_: None)
    assert result.run_dir == run_dir and result.metrics["epochs"] == 2
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    assert state["global_step"] == 2 * steps_per_epoch
    assert "gaussian_head.logvar.weight" in state["state_dict"]
    assert result.metrics["run_parts"] == 2  # metrics.json covers both parts of the run
    images_trained = result.metrics["images_per_second"] * result.metrics["train_seconds"]
    assert round(images_trained / 256) == 2 * steps_per_epoch
    # The resumed part logs beside the first part's CSV.
    with open(run_dir / "logs" / "csv-part2" / "metrics.csv") as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("train/lambda_superfluous")]
    assert rows
    for key in ("train/predictive", "train/superfluous", "train/reconstruction", "train/logvar"):
        assert rows[-1][key]
    # λ2 follows the trainer's progress: global step / all steps of the (resumed) 2-epoch run
    last = rows[-1]
    expected = annealed_weight(0.01, int(last["step"]) / (2 * steps_per_epoch), 1.0)
    assert float(last["train/lambda_superfluous"]) == pytest.approx(expected, rel=1e-5)
    assert 1e-4 < expected < 0.01
