"""`search:` of the study file: the metric, sampler, pruner, budget, selection and warm start."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from search.budget import DEFAULT_TRIALS, BudgetSpec
from search.pruners import DEFAULT_PRUNER, PrunerSpec
from search.samplers import DEFAULT_SAMPLER, SamplerSpec
from search.selection import DEFAULT_SELECTION, SelectSpec
from search.start.settings import StartName, WarmSource
from search.study.constraints import ConstraintsSpec


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


MODES = {"val_loss": "min", "val_accuracy": "max", "val_fbeta": "max", "val_accuracy_thresh": "max"}
MetricName = Literal["val_loss", "val_accuracy", "val_fbeta", "val_accuracy_thresh"]


class SearchSpec(_Frozen):
    metric: MetricName = "val_loss"
    mode: Literal["min", "max"] | None = None  # null: min for val_loss, max for the others
    sampler: SamplerSpec = DEFAULT_SAMPLER  # search/samplers/
    pruner: PrunerSpec = DEFAULT_PRUNER  # search/pruners/
    # Finished (complete or pruned) trials wanted; left out: 20, or none beside search.budget.
    trials: int | None = Field(None, ge=1)
    budget: BudgetSpec | None = None  # trials, epochs, minutes, GPU-hours: the first reached
    concurrency: int = Field(1, ge=1, description="trials running at once")
    seed: int = 0
    max_failed_trials: int | None = Field(None, ge=0, description="null: max(3, trials // 2)")
    retries: int = Field(
        1, ge=0, description="re-runs of a trial that failed for a transient cause"
    )
    constraints: ConstraintsSpec = ConstraintsSpec()  # what the refitted model may cost to serve
    select: SelectSpec = DEFAULT_SELECTION  # search/selection/: the best trial, or a race
    warm_start: list[WarmSource] = Field(default_factory=list)  # earlier studies to learn from
    start: StartName = "random"  # the first trials (search/start/)

    @field_validator("warm_start", mode="before")
    @classmethod
    def _one_source_alone(cls, value: Any) -> Any:
        return [value] if isinstance(value, (str, dict)) else value

    @model_validator(mode="after")
    def _mode_matches_metric(self) -> SearchSpec:
        if self.mode is not None and self.mode != MODES[self.metric]:
            raise ValueError(
                f"mode must be {MODES[self.metric]} for {self.metric}, got {self.mode}; "
                "or leave mode out"
            )
        return self

    @model_validator(mode="after")
    def _trials_in_one_place(self) -> SearchSpec:
        if self.budget is None and self.trials is None:  # the default count, written out
            object.__setattr__(self, "trials", DEFAULT_TRIALS)
        if self.trials is not None and self.budget is not None and self.budget.trials is not None:
            raise ValueError(
                "trials is given twice, as search.trials and search.budget.trials; keep one"
            )
        return self

    @property
    def stop(self) -> BudgetSpec:
        """The budget the search stops at: search.budget with search.trials in it."""
        if self.budget is None:
            return BudgetSpec(trials=self.trials)
        if self.trials is None:
            return self.budget
        return self.budget.model_copy(update={"trials": self.trials})

    @property
    def trial_limit(self) -> int | None:
        """The finished trials wanted; None where only time, epochs or GPU-hours stop it."""
        return self.stop.trials

    @property
    def direction(self) -> Literal["min", "max"]:
        return self.mode or MODES[self.metric]  # type: ignore[return-value]

    @property
    def failure_budget(self) -> int:
        return (
            self.max_failed_trials
            if self.max_failed_trials is not None
            else max(3, (self.trial_limit or DEFAULT_TRIALS) // 2)
        )
