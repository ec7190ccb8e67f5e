"""Name registries for the study's plug-ins (pruners, samplers): one class a name, the names a
study file may use read from the registry, and options a chosen plug-in ignores refused.

Each plug-in is a frozen pydantic model whose `type` is a one-value `Literal` (its name in the
study file) and whose other fields are its options. `register` adds a class; `union` is the
field type that parses `name` or `{type: name, ...}` into the registered class, so a wrong name
is one line listing the registered ones (as Ray Tune's `create_scheduler` table does).
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator


class PlugIn(BaseModel):
    """Settings of one plug-in; subclasses set `registry` (on their kind's base class) and
    `type: Literal["name"]`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    registry: ClassVar[Registry]

    @model_validator(mode="before")
    @classmethod
    def _options_it_reads(cls, value: Any) -> Any:
        """An option another plug-in of this kind reads is refused, naming what this one reads;
        at that plug-in's default it is let be (a saved study, or one written before each
        plug-in had a model of its own, holds every option of the kind)."""
        if not isinstance(value, dict) or getattr(cls, "registry", None) is None:
            return value
        kept = {}
        for key, given in value.items():
            takers = cls.registry.readers(key)
            if key in cls.model_fields or not takers:
                kept[key] = given  # its own, or unknown: extra="forbid" names it
            elif all(given != cls.registry[t].model_fields[key].default for t in takers):
                raise ValueError(cls._ignored(key, takers))
        return kept

    @classmethod
    def _ignored(cls, key: str, takers: list[str]) -> str:
        own = [n for n in cls.model_fields if n != "type"]
        reads = f"it reads {', '.join(own)}" if own else "it takes no options"
        return (
            f"{key} does nothing with {cls.registry.kind}: {cls.name()} ({reads}); drop it, or "
            f"choose {' or '.join(takers)}"
        )

    @classmethod
    def name(cls) -> str:
        return typing.get_args(cls.model_fields["type"].annotation)[0]


T = TypeVar("T", bound=PlugIn)


class Registry(Generic[T]):
    """The plug-ins of one kind ('pruner'), by name; listed in the order of their names, so
    messages do not depend on the order modules were imported in."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._classes: dict[str, type[T]] = {}

    def register(self, cls: type[T]) -> type[T]:
        """Class decorator: `cls` answers to its `type` in a study file."""
        name = cls.name()
        if name in self._classes:
            raise ValueError(f"{self.kind} {name} is registered twice")
        self._classes = dict(sorted({**self._classes, name: cls}.items()))
        return cls

    def __getitem__(self, name: str) -> type[T]:
        return self._classes[name]

    def names(self) -> list[str]:
        return list(self._classes)

    def readers(self, option: str) -> list[str]:
        """The plug-ins that take `option`."""
        if option == "type":
            return []
        return [n for n, c in self._classes.items() if option in c.model_fields]

    def union(self, name: str, default: str) -> Any:
        """The field type for this kind: a name alone or a mapping (with `type`, or else the
        options of `default`), parsed into its registered class (a discriminated union: a wrong
        name lists the registered ones). Registered classes whose fields name the union by
        `name` (a pruner that wraps another) are completed with it."""
        union = Annotated[
            typing.Union[tuple(self._classes.values())],  # noqa: UP007  made at run time
            Field(discriminator="type"),
            BeforeValidator(lambda v: _named(v, default)),
        ]
        for cls in self._classes.values():
            cls.model_rebuild(_types_namespace={name: union})
        return union


def _named(value: Any, default: str) -> Any:
    if isinstance(value, str):
        return {"type": value}
    if isinstance(value, dict) and "type" not in value:
        return {"type": default, **value}
    return value


__all__ = ["PlugIn", "Registry"]
