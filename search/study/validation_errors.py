"""Pydantic's validation errors as one line: '<field> must be <rule>, got <value>'.

Also the closest valid key for a misspelt one, and the allowed values of a choice, with the
field path written as the file spells it (no pydantic union tags in it). Generic over the root
model: the tagged unions are found by walking its fields, so any frozen config tree can use it.
"""

from __future__ import annotations

import functools
import re
import typing
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from trainable import did_you_mean


def first_error(exc: ValidationError, root: type[BaseModel], prefix: str = "") -> str:
    """Pydantic's first error as '<field> must be <rule>, got <value>'.

    `root` is the model validated; `prefix` is where it sits in the file ('fixed.').
    """
    return one_error(exc.errors()[0], root, prefix)


def every_error(exc: ValidationError, root: type[BaseModel], prefix: str = "") -> list[str]:
    """Each of pydantic's errors as one line, in the file's order, each said once (a value
    that fits no branch of a union is one mistake, not one a branch)."""
    lines = []
    for error in exc.errors():
        for line in one_error(error, root, prefix).split("\n"):  # a check naming several
            if line not in lines:
                lines.append(line)
    return lines


def one_error(error: Any, root: type[BaseModel], prefix: str = "") -> str:
    """One pydantic error (an item of `ValidationError.errors()`) as one line."""
    tags = tagged_models(root)
    raw = list(error["loc"])
    field = (prefix + ".".join(str(p) for p in raw if p not in tags)).rstrip(".")
    value = error.get("input")
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        return _unknown_key(raw, root, prefix)
    if kind == "missing":
        return f"{field} is required"
    if kind == "value_error":
        return _join(field, message.removeprefix("Value error, "), _model_at(raw, root))
    if kind == "union_tag_not_found":
        key = error["ctx"]["discriminator"].strip("'")
        allowed = ", ".join(repr(t) for t, m in tags.items() if key in m.model_fields)
        return f"{field}.{key} is required: one of {allowed}"
    if kind == "too_short":
        return f"{field} must have at least {error['ctx']['min_length']} item, got {value!r}"
    if kind == "union_tag_invalid":
        ctx = error["ctx"]
        allowed = ", ".join(repr(t) for t in ctx["expected_tags"].replace("'", "").split(", "))
        key = ctx["discriminator"].strip("'")
        return f"{field}.{key} must be one of {allowed}, got {ctx['tag']!r}"
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
    if field and token and model and _a_key_of(model, token.group()):
        return f"{field}.{text}"
    return f"{field}: {text}" if field else text


def _a_key_of(model: type[BaseModel], key: str) -> bool:
    """`key` is one of the model's, or of another plug-in of its kind (search/registry.py)."""
    registry = getattr(model, "registry", None)
    return key in model.model_fields or bool(registry and registry.readers(key))


def _unknown_key(raw: list[Any], root: type[BaseModel], prefix: str) -> str:
    *parent, key = raw
    model = _model_at(parent, root)
    allowed = list(model.model_fields) if model else []
    hint = did_you_mean(str(key), allowed, f"allowed: {', '.join(allowed)}")
    where = ".".join(str(p) for p in [*parent, key] if p not in tagged_models(root))
    return f"unknown key {prefix + where}; {hint}"


def _model_at(path: list[Any], root: type[BaseModel]) -> type[BaseModel] | None:
    """The pydantic model a location points into, to list the keys it allows."""
    tags = tagged_models(root)
    model: type[BaseModel] | None = root
    for part in path:
        if part in tags:
            model = tags[part]
            continue
        field = model.model_fields.get(str(part)) if model else None
        model = _model_in(field.annotation if field else None)
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation holds: `Budget`, or `Budget | None`."""
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


@functools.cache
def tagged_models(root: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """Tag -> model for every discriminated union under `root` ('fake' -> FakeData, ...).

    Pydantic puts the tag into an error's location; knowing the tags lets the location be
    written as the file spells it, and the tagged model list its keys.
    """
    found: dict[str, type[BaseModel]] = {}
    seen: set[type[BaseModel]] = set()

    def visit(annotation: Any, discriminator: str | None) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation in seen:
                return
            seen.add(annotation)
            if discriminator:
                found.update((str(t), annotation) for t in _literal(annotation, discriminator))
            for info in annotation.model_fields.values():
                tag = info.discriminator if isinstance(info.discriminator, str) else None
                visit(info.annotation, tag or _discriminator(info.metadata))
            return
        if typing.get_origin(annotation) is typing.Annotated:
            inner, *metadata = typing.get_args(annotation)
            visit(inner, _discriminator(metadata) or discriminator)
            return
        for argument in typing.get_args(annotation):
            visit(argument, discriminator)

    visit(root, None)
    return found


def _discriminator(metadata: list[Any]) -> str | None:
    for item in metadata:
        if isinstance(item, FieldInfo) and isinstance(item.discriminator, str):
            return item.discriminator
    return None


def _literal(model: type[BaseModel], field: str) -> tuple[Any, ...]:
    info = model.model_fields.get(field)
    annotation = info.annotation if info else None
    return typing.get_args(annotation) if typing.get_origin(annotation) is Literal else ()
