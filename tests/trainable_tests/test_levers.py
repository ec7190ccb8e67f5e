"""The fine-tuning levers beyond lr and dropout, each on tiny data: the weights' moving average
is the average, the probe fits the head before the body moves, the pull toward the pretrained
weights is zero there, layer-wise rates fall from the head to the stem, TrivialAugment is one
op an image; and each is carried into the model a run leaves."""

from __future__ import annotations

import copy

import pytest
import torch

from trainable import TrainConfig, train
from trainable.augment import Augment
from trainable.data import Splits
from trainable.evaluation import resolve_device
from trainable.loop import Fit
from trainable.models import build_model
from trainable.recipe import Anchor, layer_scales, optimizer_for


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_the_moving_average_is_the_average_of_the_steps(fake_splits: Splits, tiny_config) -> None:
    """Each step's weights folded in by hand, at the decay the half-life gives (the first
    step's taken whole), equal what the run leaves as its model (parameters and BatchNorm
    statistics alike)."""
    cfg = tiny_config.model_copy(update={"ema_half_life": 0.5, "epochs": 2})
    fit = Fit.set_up(cfg, fake_splits, resolve_device("cpu"), 0)
    steps = len(fit.batches)
    assert fit.average.decay == pytest.approx(0.5 ** (1 / (0.5 * steps)))
    expected: dict[str, torch.Tensor] = {}
    original_step = fit.step

    def step(images, labels, **kw):
        out = original_step(images, labels, **kw)
        for key, value in fit.model.state_dict().items():
            if key not in expected:
                expected[key] = value.float().clone()
            elif value.is_floating_point():
                expected[key] = fit.average.decay * expected[key] + (1 - fit.average.decay) * value
            else:
                expected[key] = value.float()  # counters: the last step's
        return out

    fit.step = step
    for epoch in (1, 2):
        fit.epoch(epoch)
    raw = _weights(fit.model)
    fit.finish()
    for key, value in fit.model.state_dict().items():
        if value.is_floating_point():
            assert torch.allclose(value, expected[key], atol=1e-6), key
    assert any(not torch.equal(raw[k], v) for k, v in fit.model.state_dict().items())


def test_a_run_with_the_average_leaves_the_average_and_validates_it(
    fake_splits: Splits, tiny_config
) -> None:
    plain = train(tiny_config, fake_splits, device="cpu")
    averaged = train(tiny_config.model_copy(update={"ema_half_life": 0.5}), fake_splits)
    assert plain.records[0]["train_loss"] == averaged.records[0]["train_loss"]  # same steps
    assert plain.records[-1]["val_loss"] != averaged.records[-1]["val_loss"]  # other weights
    differs = [
        not torch.equal(a, b)
        for a, b in zip(
            plain.model.state_dict().values(), averaged.model.state_dict().values(), strict=True
        )
    ]
    assert any(differs)


def test_the_probe_fits_the_head_before_the_body_moves(fake_splits: Splits, tiny_config) -> None:
    cfg = tiny_config.model_copy(update={"freeze": "probe"})
    torch.manual_seed(cfg.seed)
    untouched = build_model(cfg.backbone, cfg.weights, fake_splits.num_classes, cfg.dropout)
    fit = Fit.set_up(cfg, fake_splits, resolve_device("cpu"), 0)
    body, head = _weights(fit.model.body), _weights(fit.model.head)
    assert all(torch.equal(v, untouched.body.state_dict()[k]) for k, v in body.items())
    assert not torch.equal(head["1.weight"], untouched.head.state_dict()["1.weight"])
    assert fit.probed["probe_loss"] < fit.probed["probe_loss_before"]
    record = fit.epoch(1)  # then everything trains, from the probe's head
    assert record["probe_loss"] == fit.probed["probe_loss"]
    moved = fit.model.body.state_dict()
    assert any(not torch.equal(moved[k], v) for k, v in body.items() if v.is_floating_point())


def test_the_pull_is_zero_at_the_pretrained_weights_and_grows_away_from_them() -> None:
    model = build_model("efficientnet_lite0", "none", 3, 0.2)
    anchor = Anchor(model, strength=0.1)
    assert anchor().item() == 0.0
    first = next(model.body.parameters())
    with torch.no_grad():
        first.add_(0.5)
    expected = 0.5 * 0.1 * 0.25 * first.numel()
    assert anchor().item() == pytest.approx(expected, rel=1e-5)
    anchor().backward()  # its gradient points away from w0: a step toward it lowers it
    assert torch.allclose(first.grad, torch.full_like(first, 0.1 * 0.5))


def test_the_pull_keeps_a_run_nearer_its_start(fake_splits: Splits, tiny_config) -> None:
    def distance(cfg: TrainConfig) -> float:
        fit = Fit.set_up(cfg, fake_splits, resolve_device("cpu"), 0)
        start = copy.deepcopy(fit.model.body.state_dict())
        for epoch in (1, 2):
            fit.epoch(epoch)
        now = fit.model.body.state_dict()
        return sum(
            (now[k] - v).pow(2).sum().item() for k, v in start.items() if v.is_floating_point()
        )

    cfg = tiny_config.model_copy(update={"lr": 1e-2})
    assert distance(cfg.model_copy(update={"stay_near": 10.0})) < distance(cfg)


def test_layer_wise_rates_fall_from_the_head_to_the_stem(tiny_config) -> None:
    model = build_model("efficientnet_lite0", "none", 3, 0.2)
    scales = layer_scales(model, 0.7)
    factors = [scale for scale, _ in scales]
    assert factors == sorted(factors) and factors[-1] == 1.0
    assert factors[-2] == pytest.approx(0.7) and factors[0] == pytest.approx(
        0.7 ** (len(factors) - 1)
    )
    head = {id(p) for p in model.head.parameters()}
    assert {id(p) for p in scales[-1][1]} == head
    optimizer = optimizer_for(tiny_config.model_copy(update={"layer_decay": 0.7}), model)
    rates = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    assert len(rates) == len(list(model.parameters()))  # every parameter once
    stem = next(model.body.parameters())
    assert rates[id(stem)] == pytest.approx(tiny_config.lr * factors[0])
    assert all(rates[i] == tiny_config.lr for i in head)
    flat = optimizer_for(tiny_config, model)
    assert {g["lr"] for g in flat.param_groups} == {tiny_config.lr}


def test_trivial_augment_changes_each_image_by_one_op_and_repeats_with_its_seed() -> None:
    images = torch.randint(0, 256, (8, 3, 24, 24), dtype=torch.uint8)
    torch.manual_seed(0)
    first = Augment("trivial", generator=torch.Generator().manual_seed(1))(images)
    torch.manual_seed(0)
    again = Augment("trivial", generator=torch.Generator().manual_seed(1))(images)
    assert first.shape == (8, 3, 24, 24) and first.dtype == torch.float32
    assert first.min() >= 0 and first.max() <= 1
    assert torch.equal(first, again)
    assert not torch.allclose(first, images.float() / 255)


def test_every_lever_together_trains_a_model_that_exports(fake_splits: Splits, tmp_path) -> None:
    from trainable.export import OnnxModel, export_onnx

    cfg = TrainConfig(
        weights="none",
        epochs=2,
        batch_size=16,
        freeze="probe",
        ema_half_life=0.5,
        stay_near=0.01,
        layer_decay=0.7,
        augment="trivial",
    )
    history = train(cfg, fake_splits, device="cpu")
    assert history.epochs_run == 2
    path = export_onnx(history.model, fake_splits.image_size, tmp_path / "m.onnx")
    images = fake_splits.test.images.tensor[:4]
    expected = history.model(images).softmax(1).detach().numpy()
    assert OnnxModel(path).probabilities(images.numpy()) == pytest.approx(expected, abs=1e-4)
