"""The parameters of a study's `space:`: a float or int range, or categorical choices.

Each is a frozen pydantic model (extra="forbid") that checks its own range, so a mistake in
one reads `space.lr: low must be < high, got low=0.1, high=0.01`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FloatParam(_Frozen):
    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _range(self) -> FloatParam:
        _check_range(self.low, self.high, self.log, self.step)
        return self


class IntParam(_Frozen):
    type: Literal["int"]
    low: int
    high: int
    log: bool = False
    step: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _range(self) -> IntParam:
        _check_range(self.low, self.high, self.log, None if self.step == 1 else self.step)
        return self


class CategoricalParam(_Frozen):
    type: Literal["categorical"]
    choices: list[bool | int | float | str | None] = Field(min_length=1)


def _a_mapping(value: Any) -> Any:
    if not isinstance(value, dict):
        raise ValueError(
            f"must be a mapping like {{type: float, low: 0.001, high: 0.1}}, got {value!r}; "
            "to hold one value put it in fixed:"
        )
    return value


Param = Annotated[
    FloatParam | IntParam | CategoricalParam,
    Field(discriminator="type"),
    BeforeValidator(_a_mapping),
]


def _check_range(low: float, high: float, log: bool, step: float | None) -> None:
    if low >= high:
        raise ValueError(
            f"low must be < high, got low={low}, high={high}; to hold one value put it in fixed:"
        )
    if log and low <= 0:
        raise ValueError(f"log needs low > 0, got low={low}")
    if log and step is not None:
        raise ValueError("log and step cannot be combined; drop one of them")


def reachable(param: FloatParam | IntParam | CategoricalParam) -> list[Any]:
    """The values that bound what a parameter can take: a categorical's choices, a range's
    two ends."""
    return param.choices if isinstance(param, CategoricalParam) else [param.low, param.high]
