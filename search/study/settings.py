"""What space: and fixed: may hold: training settings (TrainConfig's fields), each value of a
searched range a valid one; the backbone searched in space: or held in model:.

`settings_problems` names every mistake of the two sections at once, one line each, so a study
file is fixed in one pass rather than one error a run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from search.study.label_kind import check_label_kind
from search.study.params import CategoricalParam, FloatParam, IntParam, Param, reachable
from search.study.validation_errors import every_error, first_error
from trainable import TrainConfig, did_you_mean

# Set in model:, not in space:/fixed:, so a study has one place that names its network (the
# backbone may also be searched, in space:).
MODEL_FIELDS = ("backbone", "weights")


def settings_problems(
    space: dict[str, Param],
    fixed: dict[str, Any],
    model: dict[str, Any],
    held: str | None,
    *,
    multilabel: bool,
    metric: str,
) -> list[str]:
    """Every problem of space: and fixed:, one line each. `model`: model:'s settings (what
    every trial starts from, with fixed:); `held`: model.backbone where the file sets it."""
    problems: list[str] = []

    def attempt(check: Callable[..., None], *args: Any) -> None:
        try:
            check(*args)
        except ValueError as exc:
            problems.append(str(exc))

    for where, section in (("space", space), ("fixed", fixed)):
        for key in section:
            attempt(check_key, key, where)
    both = [k for k in space if k in fixed]
    problems += [f"{k} is in both space and fixed; keep it in one of them" for k in both]
    if "epochs" in space and "schedule_epochs" in {**space, **fixed}:
        problems.append(
            "schedule_epochs cannot be set while epochs is searched: every trial's schedule "
            "then spans space.epochs' highest value; drop schedule_epochs"
        )
    attempt(check_backbone_choices, space, held)
    base, wrong = _base(model, fixed)
    problems += wrong
    for name, param in space.items():
        if name in TrainConfig.model_fields and name not in fixed:
            attempt(check_param, name, param, base)
    attempt(check_label_kind, multilabel, metric, space, fixed)
    return problems


def _base(model: dict[str, Any], fixed: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """model + fixed as a TrainConfig's values, less the wrong ones; and a line for each of
    those (unknown keys are check_key's to name)."""
    values = {**model, **{k: v for k, v in fixed.items() if k in TrainConfig.model_fields}}
    try:
        TrainConfig(**values)
    except ValidationError as exc:
        wrong = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
        kept = {k: v for k, v in values.items() if k not in wrong}
        return kept, every_error(exc, TrainConfig, prefix="fixed.")
    return values, []


def check_key(key: str, where: str) -> None:
    """`key` of space: or fixed: (`where`) names a training setting that section may hold."""
    # The backbone may be searched (space.backbone); weights stay one setting of model:.
    searchable = ("backbone",) if where == "space" else ()
    fields = [f for f in TrainConfig.model_fields if f not in MODEL_FIELDS or f in searchable]
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
