"""Bounds on serving cost: maxima, a minimum, and what breaking one says."""

from __future__ import annotations

from search.study.constraints import ConstraintsSpec
from search.trials.serving import broken, excess

COST = {"params_m": 4.0, "macs_g": 0.2, "latency_ms": 5.0, "throughput": 300.0}


def test_maxima_and_the_throughput_minimum() -> None:
    limits = ConstraintsSpec(latency_ms=4.0, params_m=5.0, throughput=500.0).limits
    assert limits == {"latency_ms": 4.0, "params_m": 5.0, "throughput": 500.0}
    assert excess(COST, limits) == {"latency_ms": 1.0, "params_m": -1.0, "throughput": 200.0}
    assert broken(COST, limits) == "latency_ms 5 > 4, throughput 300 < 500"
    assert broken(COST, {"params_m": 5.0}) is None
    assert ConstraintsSpec().limits == {} and broken(COST, {}) is None
