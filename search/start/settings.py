"""How a search starts, as the study file says it: `search.start` (its first trials) and
`search.warm_start` (earlier studies whose trials the sampler learns from).

Each warm-start entry is a run directory (`runs/digits`), or a storage URL with a study name
(`{storage: postgresql://..., study: digits}`). What each does: search/start/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_serializer, model_validator

from search.urls import masked

# The first trials: the sampler's own (random), or known fine-tuning configurations first
# (portfolio). Each name is a function in search/start/__init__.py's STARTS.
StartName = Literal["portfolio", "random"]


class WarmSource(BaseModel):
    """One earlier study: `run_dir`, or `storage` and `study`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_dir: str | None = None  # made absolute, so a saved study resumes from anywhere
    storage: str | None = None
    study: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _path_alone(cls, value: Any) -> Any:
        """A bare string is a run directory."""
        return {"run_dir": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_kind(self) -> WarmSource:
        if self.run_dir is not None:
            if self.storage is not None or self.study is not None:
                raise ValueError("must be a run directory or {storage: URL, study: NAME}, not both")
            if not self.run_dir.strip():
                raise ValueError("must name a run directory, got ''")
            absolute = str(Path(self.run_dir).expanduser().absolute())
            object.__setattr__(self, "run_dir", absolute)
        elif self.storage is None or self.study is None:
            missing = "study" if self.study is None else "storage"
            raise ValueError(
                f"needs {missing} too: a run directory, or {{storage: URL, study: NAME}}"
            )
        return self

    @model_serializer(mode="plain")
    def _as_written(self) -> str | dict[str, str]:
        if self.run_dir is not None:
            return self.run_dir
        return {"storage": str(self.storage), "study": str(self.study)}

    @property
    def label(self) -> str:
        """How lines and trial attrs name it: the run directory, or 'study NAME in URL'."""
        if self.run_dir is not None:
            return self.run_dir
        return f"study {self.study} in {masked(str(self.storage))}"


__all__ = ["StartName", "WarmSource"]
