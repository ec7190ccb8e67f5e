"""The parameters of a space: ranges check themselves, and what bounds their values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from search.study.params import CategoricalParam, FloatParam, IntParam, reachable


def test_what_a_parameter_can_reach() -> None:
    assert reachable(FloatParam(type="float", low=1e-4, high=1e-1, log=True)) == [1e-4, 1e-1]
    assert reachable(IntParam(type="int", low=2, high=8, step=3)) == [2, 8]
    assert reachable(CategoricalParam(type="categorical", choices=[16, 64])) == [16, 64]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"low": 0.1, "high": 0.01}, "low must be < high, got low=0.1, high=0.01"),
        ({"low": 0.0, "high": 0.1, "log": True}, "log needs low > 0, got low=0.0"),
        ({"low": 0.1, "high": 1.0, "log": True, "step": 0.1}, "log and step cannot be combined"),
    ],
)
def test_a_range_checks_itself(values: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FloatParam(type="float", **values)
