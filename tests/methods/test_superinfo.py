"""SuperInfo (reconstruction of arXiv 2408.10292): exact SimCLR at λa = λb = λ3 = 0, the
reported two-coefficient loss against a slow reference (both posterior places, learned mean,
optional reconstruction), the old coefficient's mapping, the annealing, configuration errors,
training and resume."""

from __future__ import annotations

import copy
import csv
import math
from pathlib import Path

import pytest
import torch
import yaml

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


@pytest.mark.parametrize(("seed", "posterior"), [(0, "features"), (1, "projection")])
def test_zero_information_terms_reproduce_simclr_exactly(seed: int, posterior: str) -> None:
    simclr, superinfo = _pair(lambda_a=0.0, lambda_b=0.0, posterior=posterior)
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
    simclr, superinfo = _pair(lambda_a=0.0, lambda_b=0.0, sample=True, initial_logvar=0.0)
    images = _images()
    torch.manual_seed(0)
    expected = simclr.loss_step(images, None, None)[0]
    torch.manual_seed(0)
    loss = superinfo.loss_step(images, None, None)[0]
    assert abs(float(loss) - float(expected)) > 1e-3


def _directed_kl_loop(mu_p, logvar_p, mu_q, logvar_q) -> torch.Tensor:
    """KL(p‖q) per row, one dimension at a time in float64."""
    rows = []
    for b in range(mu_p.shape[0]):
        total = torch.zeros((), dtype=torch.float64)
        for d in range(mu_p.shape[1]):
            var_p, var_q = logvar_p[b, d].double().exp(), logvar_q[b, d].double().exp()
            diff = (mu_p[b, d] - mu_q[b, d]).double()
            total = total + 0.5 * (torch.log(var_q / var_p) + (var_p + diff**2) / var_q - 1)
        rows.append(total)
    return torch.stack(rows)


@pytest.mark.parametrize(
    ("posterior", "mean_head", "lambda_rec"),
    [("features", False, 0.3), ("features", True, 0.0), ("projection", True, 0.2)],
)
def test_reported_form_matches_slow_reference(posterior, mean_head, lambda_rec) -> None:
    method = SuperInfo(
        build_backbone("smallcnn", 1, 8, width=8),
        _views(),
        image_size=8,
        channels=1,
        temperature=0.5,
        lambda_pred=0.8,
        lambda_a=0.05,
        lambda_b=0.002,
        lambda_rec=lambda_rec,
        posterior=posterior,
        mean_head=mean_head,
        initial_logvar=-1.0,
    )
    head = method.gaussian_head
    with torch.no_grad():  # non-trivial log-variance and mean heads
        head.logvar.weight.normal_(0, 0.1)
        if mean_head:
            head.mean.weight.add_(torch.randn_like(head.mean.weight) * 0.1)
            head.mean.bias.normal_(0, 0.1)
    method.anneal_progress = 1.0
    reference = copy.deepcopy(method)
    images = _images()
    torch.manual_seed(9)
    loss, logs = method.loss_step(images, None, None)

    torch.manual_seed(9)
    view1, view2 = reference.views(images), reference.views(images)
    a1, a2 = reference.backbone(view1), reference.backbone(view2)
    if posterior == "projection":
        a1, a2 = reference.projector(a1), reference.projector(a2)
    rhead = reference.gaussian_head
    mu1 = rhead.mean(a1) if mean_head else a1
    mu2 = rhead.mean(a2) if mean_head else a2
    logvar1, logvar2 = rhead.logvar(a1), rhead.logvar(a2)
    z1 = mu1 + torch.exp(0.5 * logvar1) * torch.randn(mu1.shape)
    z2 = mu2 + torch.exp(0.5 * logvar2) * torch.randn(mu2.shape)
    if posterior == "features":
        h1, h2 = reference.projector(z1), reference.projector(z2)
    else:
        h1, h2 = z1, z2
    predictive = nt_xent(h1, h2, 0.5)
    kl_12 = _directed_kl_loop(mu1, logvar1, mu2, logvar2).mean()
    kl_21 = _directed_kl_loop(mu2, logvar2, mu1, logvar1).mean()
    expected = 0.8 * predictive + (0.05 * kl_12 + 0.002 * kl_21).float()
    if lambda_rec:
        pixels = view1[0].numel()
        rec1 = ((reference.decoder(z1) - view1) ** 2).sum((1, 2, 3)) / pixels
        rec2 = ((reference.decoder(z2) - view2) ** 2).sum((1, 2, 3)) / pixels
        reconstruction = 0.5 * (rec1.mean() + rec2.mean())
        expected = expected + lambda_rec * reconstruction
        torch.testing.assert_close(logs["reconstruction"], reconstruction.detach())
    else:
        assert reference.decoder is None and "reconstruction" not in logs
    torch.testing.assert_close(logs["predictive"], predictive.detach())
    torch.testing.assert_close(logs["kl_12"].double(), kl_12.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(logs["kl_21"].double(), kl_21.detach(), rtol=1e-5, atol=1e-6)
    assert (logs["lambda_a"], logs["lambda_b"]) == (0.05, 0.002)
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-6)
    loss.backward()
    assert head.logvar.weight.grad.abs().sum() > 0
    if mean_head:
        assert head.mean.weight.grad.abs().sum() > 0


def test_asymmetric_weights_weigh_each_direction() -> None:
    # With λb = 0 the loss must move with KL(p1‖p2) only: swapping the roles of the views'
    # means changes KL(p1‖p2) and so the loss, which a symmetric term would not tell apart.
    method = SuperInfo(
        build_backbone("smallcnn", 1, 8, width=8),
        _views(),
        image_size=8,
        channels=1,
        lambda_a=1.0,
        lambda_b=0.0,
        initial_logvar=-1.0,
    )
    method.anneal_progress = 1.0
    with torch.no_grad():
        method.gaussian_head.logvar.weight.normal_(0, 0.3)
    torch.manual_seed(4)
    loss, logs = method.loss_step(_images(), None, None)
    assert float(logs["kl_12"]) != pytest.approx(float(logs["kl_21"]), rel=1e-3)
    assert float(loss - logs["predictive"]) == pytest.approx(float(logs["kl_12"]), rel=1e-5)


def test_lambda_superfluous_maps_to_half_of_each_coefficient() -> None:
    from infoclr.methods import method_options

    options = method_options("superinfo", {"lambda_superfluous": 0.02})
    assert (options.lambda_a, options.lambda_b, options.lambda_superfluous) == (0.01, 0.01, None)
    # λ · D_SKL with D_SKL = ½ [KL + KL] is λa = λb = λ/2 exactly.
    mu1, lv1, mu2, lv2 = (torch.randn(3, 5) for _ in range(4))
    from infoclr.functional import symmetric_gaussian_kl, weighted_gaussian_kl

    torch.testing.assert_close(
        0.02 * symmetric_gaussian_kl(mu1, lv1, mu2, lv2),
        weighted_gaussian_kl(mu1, lv1, mu2, lv2, options.lambda_a, options.lambda_b),
    )
    same = method_options("superinfo", {"lambda_superfluous": 0.02, "lambda_a": 0.01})
    assert same.lambda_b == 0.01
    with pytest.raises(ConfigError, match="lambda_superfluous"):
        method_options("superinfo", {"lambda_superfluous": 0.02, "lambda_b": 0.3})


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
        lambda_a=0.1,
        lambda_b=0.02,
        anneal_fraction=0.5,
        anneal_schedule="linear",
    )
    assert training_progress(method) == 1.0  # not fitting: the target weights
    method.anneal_progress = 0.25
    weight_a, weight_b = method.method.current_weights(method)
    assert weight_a == pytest.approx(1e-4 + (0.1 - 1e-4) * 0.5)
    assert weight_b == pytest.approx(1e-4 + (0.02 - 1e-4) * 0.5)
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
            lambda_a=0.02,
            lambda_b=0.001,
            lambda_rec=0.3,
            posterior="projection",
            mean_head=True,
            anneal_fraction=0.4,
            anneal_start=1e-3,
            anneal_schedule="linear",
            initial_logvar=-2.0,
            temperature=0.3,
        )
    )
    method = prepare(config).model
    options = method.method
    assert (options.lambda_pred, options.lambda_a, options.lambda_b) == (0.5, 0.02, 0.001)
    assert (options.lambda_rec, options.posterior, options.mean_head) == (0.3, "projection", True)
    assert method.gaussian_head.feature_dim == config.projection_dim
    assert method.gaussian_head.mean is not None
    assert (options.anneal_fraction, options.anneal_start) == (0.4, 1e-3)
    assert options.anneal_schedule == "linear"
    assert method.criterion.temperature == 0.3
    bias = method.gaussian_head.logvar.bias
    assert torch.equal(bias, torch.full_like(bias, -2.0))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "lambda_superfluous=-0.1"], "lambda_superfluous"),
        (["--set", "lambda_a=-0.1"], "lambda_a"),
        (["--set", "lambda_superfluous=0.1", "--set", "lambda_b=0.3"], "lambda_superfluous"),
        (["--set", "posterior=pixels"], "posterior"),
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


def test_cli_trains_and_python_api_resumes(tmp_path: Path, monkeypatch, tiny_pretrain_argv) -> None:
    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C after the first epoch's checkpoint, before evaluation

    with monkeypatch.context() as patch:
        patch.setattr(pretrain_module, "_evaluate", killed)
        code = main(
            tiny_pretrain_argv(
                "superinfo",
                tmp_path,
                "backbone_width=8",
                "knn_every=0",
                "precision=32",
                "lambda_superfluous=0.01",
                "lambda_rec=0.1",
                "anneal_fraction=1.0",
            )
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
        rows = [row for row in csv.DictReader(handle) if row.get("train/lambda_a")]
    assert rows
    keys = ("predictive", "kl_12", "kl_21", "lambda_b", "reconstruction", "logvar")
    for key in keys:
        assert rows[-1][f"train/{key}"]
    # λa (= 0.01 / 2) follows the trainer's progress: global step / all steps of the resumed
    # 2-epoch run
    last = rows[-1]
    expected = annealed_weight(0.005, int(last["step"]) / (2 * steps_per_epoch), 1.0)
    assert float(last["train/lambda_a"]) == pytest.approx(expected, rel=1e-5)
    assert 1e-4 < expected < 0.005


def test_cli_reported_form_runs_and_saves_lambda_rec_zero(
    tmp_path: Path, tiny_pretrain_argv
) -> None:
    # The must-show: the two coefficients from the command line, lambda_rec 0 saved.
    settings = ["lambda_a=0.01", "lambda_b=0.001", "backbone_width=4", "knn_every=0"]
    settings += ["precision=32", "baselines=false", "probe_epochs=2"]
    code = main(tiny_pretrain_argv("superinfo", tmp_path, *settings))
    assert code == 0
    run_dir = tmp_path / "superinfo-digits"
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())["method_options"]
    assert saved["lambda_rec"] == 0 and (saved["lambda_a"], saved["lambda_b"]) == (0.01, 0.001)
    assert saved["lambda_superfluous"] is None
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    assert "gaussian_head.logvar.weight" in state and not any("decoder" in k for k in state)
