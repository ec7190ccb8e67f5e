"""`search:` of the study file: the metric, sampler, pruner, budget, selection and warm start."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from search.study.constraints import ConstraintsSpec
from search.study.search_budget import DEFAULT_TRIALS, BudgetSpec
from search.study.select import SelectSpec
from search.study.warm_start import WarmSource


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


SamplerName = Literal["tpe", "random", "cmaes", "gp", "qmc"]
PrunerName = Literal["median", "percentile", "successive_halving", "hyperband", "none"]
MODES = {"val_loss": "min", "val_accuracy": "max", "val_fbeta": "max", "val_accuracy_thresh": "max"}
MetricName = Literal["val_loss", "val_accuracy", "val_fbeta", "val_accuracy_thresh"]


def _unused_options(spec: BaseModel, uses: dict[str, tuple[str, ...]], kind: str) -> None:
    """An option the chosen type ignores is refused, naming the ones it reads; at its default
    it is let be (that is what a saved study, or one written before, holds)."""
    kind_of = spec.type  # type: ignore[attr-defined]
    used = uses[kind_of]
    for name, info in type(spec).model_fields.items():
        if name == "type" or name in used or getattr(spec, name) == info.default:
            continue
        takers = [t for t, names in uses.items() if name in names]
        reads = f"it reads {', '.join(used)}" if used else "it takes no options"
        raise ValueError(
            f"{name} does nothing with {kind}: {kind_of} ({reads}); drop it, or choose "
            f"{' or '.join(takers)}"
        )


SAMPLER_OPTIONS = {"tpe": ("startup_trials",), "cmaes": ("startup_trials",)}
SAMPLER_OPTIONS |= {"gp": ("startup_trials",), "random": (), "qmc": ()}
PRUNER_OPTIONS = {
    "median": ("startup_trials", "warmup_epochs"),
    "percentile": ("startup_trials", "warmup_epochs", "percentile"),
    "successive_halving": ("warmup_epochs", "reduction_factor"),
    "hyperband": ("warmup_epochs", "reduction_factor"),
    "none": (),
}


class SamplerSpec(_Frozen):
    type: SamplerName = "tpe"
    # Random trials before the model-based sampler takes over; null: a quarter of the trials,
    # between 2 and 10 (Optuna's fixed 10 would leave a 12-trial study nearly random).
    startup_trials: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _options_it_reads(self) -> SamplerSpec:
        _unused_options(self, SAMPLER_OPTIONS, "sampler")
        return self


class PrunerSpec(_Frozen):
    # Successive halving by default: on the quickstart and a real-photo study it matched the
    # unpruned search's test accuracy on 33-65% of its epochs, where the median pruner needed
    # 53-71% (benchmarks/search_quality.py).
    type: PrunerName = "successive_halving"
    startup_trials: int = Field(3, ge=0, description="finished trials before pruning starts")
    warmup_epochs: int = Field(0, ge=0, description="epochs a trial runs before it can be pruned")
    percentile: float = Field(25.0, gt=0, lt=100, description="percentile pruner only")
    reduction_factor: int = Field(3, ge=2, description="successive_halving and hyperband")

    @model_validator(mode="after")
    def _options_it_reads(self) -> PrunerSpec:
        _unused_options(self, PRUNER_OPTIONS, "pruner")
        return self


class SearchSpec(_Frozen):
    metric: MetricName = "val_loss"
    mode: Literal["min", "max"] | None = None  # null: min for val_loss, max for the others
    sampler: SamplerSpec = SamplerSpec()
    pruner: PrunerSpec = PrunerSpec()
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
    select: SelectSpec = SelectSpec()  # the single best trial, or a race of the top few
    warm_start: list[WarmSource] = Field(default_factory=list)  # earlier studies to learn from
    start: Literal["portfolio", "random"] = "random"  # the first trials (search/engine/start.py)

    @field_validator("sampler", "pruner", mode="before")
    @classmethod
    def _name_alone(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

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
