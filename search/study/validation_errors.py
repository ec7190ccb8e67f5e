"""Pydantic's validation errors as one line: '<field> must be <rule>, got <value>'.

Also the closest valid key for a misspelt one, and the allowed values of a choice, with the
field path written as the study file spells it (no pydantic union tags in it).
"""

from __future__ import annotations

import difflib
import functools
import re
from typing import Any

from pydantic import BaseModel, ValidationError


def first_error(exc: ValidationError, prefix: str) -> str:
    """Pydantic's first error as '<field> must be <rule>, got <value>'."""
    error = exc.errors()[0]
    raw = list(error["loc"])
    field = (prefix + ".".join(str(p) for p in raw if p not in _tagged())).rstrip(".")
    value = error.get("input")
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        return _unknown_key(raw, prefix)
    if kind == "missing":
        return f"{field} is required"
    if kind == "value_error":
        return _join(field, message.removeprefix("Value error, "), _model_at(raw))
    if kind == "union_tag_not_found":
        tags = ", ".join(repr(t) for t, m in _tagged().items() if _field_tag(raw) in m.model_fields)
        return f"{field}.{_field_tag(raw)} is required: one of {tags}"
    if kind in ("dict_type", "model_type", "model_attributes_type") and raw[:1] == ["space"]:
        return (
            f"{field} must be a mapping like {{type: float, low: 0.001, high: 0.1}}, "
            f"got {value!r}; to hold one value put it in fixed:"
        )
    if kind == "too_short":
        return f"{field} must have at least {error['ctx']['min_length']} item, got {value!r}"
    if kind == "string_pattern_mismatch" and raw == ["name"]:
        return (
            f"name must be letters, digits, '.', '_' or '-' (it names the run directory), "
            f"got {value!r}"
        )
    if kind == "union_tag_invalid":
        ctx = error["ctx"]
        tags = ", ".join(repr(t) for t in ctx["expected_tags"].replace("'", "").split(", "))
        key = ctx["discriminator"].strip("'")
        return f"{field}.{key} must be one of {tags}, got {ctx['tag']!r}"
    if kind == "literal_error":
        allowed = error["ctx"]["expected"].replace(" or ", ", ")
        return f"{field} must be one of {allowed}, got {value!r}"
    rule = message[0].lower() + message[1:]
    rule = rule.replace("input should be", "must be")
    return f"{field} {rule}, got {value!r}"


def _join(field: str, text: str, model: type[BaseModel] | None) -> str:
    """'search' + 'mode must be ...' -> 'search.mode must be ...'."""
    if text.startswith("must"):
        return f"{field} {text}"
    token = re.match(r"\w+", text)
    if field and token and model and token.group() in model.model_fields:
        return f"{field}.{text}"
    return f"{field}: {text}" if field else text


def _field_tag(raw: list[Any]) -> str:
    return "type" if raw[:1] == ["space"] else "source"


def _unknown_key(raw: list[Any], prefix: str) -> str:
    *parent, key = raw
    model = _model_at(parent)
    allowed = list(model.model_fields) if model else []
    close = difflib.get_close_matches(str(key), allowed, n=1)
    hint = f"did you mean {close[0]}?" if close else f"allowed: {', '.join(allowed)}"
    where = ".".join(str(p) for p in [*parent, key] if p not in _tagged())
    return f"unknown key {prefix + where}; {hint}"


def _model_at(path: list[Any]) -> type[BaseModel] | None:
    """The pydantic model a location points into, to list the keys it allows."""
    from search.study.spec import StudySpec

    model: type[BaseModel] | None = StudySpec
    for part in path:
        if part in _tagged():
            model = _tagged()[part]
            continue
        field = model.model_fields.get(str(part)) if model else None
        annotation = field.annotation if field else None
        is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        model = annotation if is_model else None
    return model


@functools.cache
def _tagged() -> dict[str, type[BaseModel]]:
    """The models behind pydantic's union tags (imported late: spec imports this module)."""
    from search.study.spec import CategoricalParam, FloatParam, IntParam
    from trainable.config import DigitsData, FakeData, ImageFolderData, TorchvisionData

    return {
        "digits": DigitsData,
        "imagefolder": ImageFolderData,
        "torchvision": TorchvisionData,
        "fake": FakeData,
        "float": FloatParam,
        "int": IntParam,
        "categorical": CategoricalParam,
    }
