"""What a backbone costs to serve, measured as it is served."""

from __future__ import annotations

import pytest

from trainable import build_model
from trainable.cost import ServingCost, serving_cost


def test_the_figures_are_the_models_own() -> None:
    cost = serving_cost("efficientnet_lite0", 3, 32, device="cpu", repeats=3)
    model = build_model("efficientnet_lite0", "none", 3, dropout=0.0)
    assert isinstance(cost, ServingCost) and cost.device == "cpu"
    assert cost.params_m == pytest.approx(
        sum(p.numel() for p in model.parameters()) / 1e6, abs=1e-3
    )
    assert cost.latency_ms > 0 and cost.throughput > 0 and cost.latency_spread >= 0
    # Convolutions cost about as much again per pixel: twice the side, about four times the MACs.
    larger = serving_cost("efficientnet_lite0", 3, 64, device="cpu", repeats=3)
    assert 3.5 < larger.macs_g / cost.macs_g < 4.5
    assert larger.params_m == cost.params_m


def test_the_lite_sizes_grow() -> None:
    sizes = [serving_cost(f"efficientnet_lite{n}", 3, 32, repeats=1) for n in (0, 1, 2)]
    assert sizes[0].params_m < sizes[1].params_m < sizes[2].params_m
    assert sizes[0].macs_g < sizes[1].macs_g < sizes[2].macs_g
    assert set(sizes[0].as_dict()) == {
        "params_m",
        "macs_g",
        "latency_ms",
        "throughput",
        "device",
        "latency_spread",
    }


def test_a_noisy_latency_is_said_to_be_one() -> None:
    from search.engine.serving import describe

    figures = {"params_m": 3.4, "macs_g": 0.2, "latency_ms": 21.0, "throughput": 300.0}
    assert "noisy" not in describe({**figures, "latency_spread": 0.04})
    assert "21 ms an image (noisy: its timings spread 35%" in describe(
        {**figures, "latency_spread": 0.35}
    )
