"""`search.select`: how the configuration to refit is chosen from the search's trials."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SelectSpec(BaseModel):
    """How the configuration to refit is chosen: the single best trial, or a race of the
    `top_k` best (distinct configurations) over `repeats` more runs each, on fresh seeds and,
    where the study carves its validation split, fresh train/val splits of the same pool
    (search/trials/race.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["best", "race"] = "best"
    top_k: int = Field(3, ge=2, description="race: the best trials that race")
    repeats: int = Field(2, ge=1, description="race: more runs of each, on fresh seeds")
    reshuffle: bool = Field(True, description="race: each run on a fresh train/val split too")

    @model_validator(mode="before")
    @classmethod
    def _race_by_its_settings(cls, value: Any) -> Any:
        """`select: best`, `select: race`, or the race's settings alone."""
        if isinstance(value, str):
            return {"type": value}
        if isinstance(value, dict) and value and "type" not in value:
            return {"type": "race", **value}
        return value

    @model_validator(mode="after")
    def _settings_only_for_a_race(self) -> SelectSpec:
        """A race's settings beside select: best do nothing: refused (at their defaults they
        are what a dump of the spec writes, and do no harm)."""
        default = SelectSpec.model_construct()
        changed = [
            k for k in ("top_k", "repeats", "reshuffle") if getattr(self, k) != getattr(default, k)
        ]
        if self.type == "best" and changed:
            extra = changed[0]
            raise ValueError(
                f"{extra} only applies to a race; drop it, or set type: race (select: best "
                "refits the single best trial)"
            )
        return self

    @property
    def races(self) -> bool:
        return self.type == "race"
