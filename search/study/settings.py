"""What space: and fixed: may hold: training settings (TrainConfig's fields), each value of a
searched range a valid one; the backbone searched in space: or held in model:."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from search.study.params import CategoricalParam, FloatParam, IntParam, Param, reachable
from search.study.validation_errors import first_error
from trainable import TrainConfig, did_you_mean

# Set in model:, not in space:/fixed:, so a study has one place that names its network (the
# backbone may also be searched, in space:).
MODEL_FIELDS = ("backbone", "weights")


def check_keys(section: dict[str, Any], where: str) -> None:
    # The backbone may be searched (space.backbone); weights stay one setting of model:.
    searchable = ("backbone",) if where == "space" else ()
    fields = [f for f in TrainConfig.model_fields if f not in MODEL_FIELDS or f in searchable]
    for key in section:
        if key in MODEL_FIELDS and key not in searchable:
            also = " (or search backbone in space:)" if key == "backbone" else ""
            raise ValueError(f"{where}.{key}: set {key} in the model: section{also}")
        if key not in fields:
            hint = did_you_mean(key, fields, f"allowed: {', '.join(fields)}")
            raise ValueError(f"{where}.{key} is not a training setting; {hint}")


def check_backbone_choices(space: dict[str, Param], held: str | None) -> None:
    """space.backbone, where searched, is a choice, and model.backbone (`held`, where the
    study file sets it) does not name it too."""
    param = space.get("backbone")
    if param is None:
        return
    if not isinstance(param, CategoricalParam):
        raise ValueError(
            "space.backbone must be type: categorical, with the backbones as choices, e.g. "
            "choices: [efficientnet_lite0, efficientnet_lite1]"
        )
    if held is not None:
        raise ValueError(
            f"model.backbone {held} and space.backbone both name the backbone; "
            "drop model.backbone to search it, or drop space.backbone to hold it"
        )


def check_param(name: str, param: FloatParam | IntParam | CategoricalParam, base: dict) -> None:
    """Every value the parameter can take must make a valid TrainConfig."""
    annotation = str(TrainConfig.model_fields[name].annotation)
    if isinstance(param, FloatParam) and "float" not in annotation:
        raise ValueError(f"space.{name} is a whole number: use type: int or categorical")
    for value in reachable(param):
        try:
            TrainConfig(**{**base, name: value})
        except ValidationError as exc:
            raise ValueError(
                f"space.{name} can take {value!r}, but {first_error(exc, TrainConfig)}"
            ) from None
