"""The study file: frozen pydantic models (extra="forbid") and `load_study_spec(path)`.

Every problem is reported as one `StudySpecError` line that names the field path, the value
and what is allowed, e.g. ``search.sampler must be one of 'tpe', 'random', ... , got 'tpe2'``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from search.errors import StudySpecError
from search.study.budget import EpochBudget
from search.study.constraints import ConstraintsSpec
from search.study.label_kind import check_label_kind
from search.study.params import CategoricalParam, Param
from search.study.select import SelectSpec
from search.study.settings import check_backbone_choices, check_keys, check_param
from search.study.validation_errors import first_error
from trainable import DataConfig, DigitsData, MultiLabelData, TrainConfig

SamplerName = Literal["tpe", "random", "cmaes", "gp", "qmc"]
PrunerName = Literal["median", "percentile", "successive_halving", "hyperband", "none"]
MODES = {"val_loss": "min", "val_accuracy": "max", "val_fbeta": "max", "val_accuracy_thresh": "max"}
MetricName = Literal["val_loss", "val_accuracy", "val_fbeta", "val_accuracy_thresh"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelSpec(_Frozen):
    backbone: str = "efficientnet_lite0"
    weights: str = "imagenet"


class SamplerSpec(_Frozen):
    type: SamplerName = "tpe"
    # Random trials before the model-based sampler takes over; null: a quarter of the trials,
    # between 2 and 10 (Optuna's fixed 10 would leave a 12-trial study nearly random).
    startup_trials: int | None = Field(None, ge=0)


class PrunerSpec(_Frozen):
    # Successive halving by default: on the quickstart and a real-photo study it matched the
    # unpruned search's test accuracy on 33-65% of its epochs, where the median pruner needed
    # 53-71% (benchmarks/search_quality.py).
    type: PrunerName = "successive_halving"
    startup_trials: int = Field(3, ge=0, description="finished trials before pruning starts")
    warmup_epochs: int = Field(0, ge=0, description="epochs a trial runs before it can be pruned")
    percentile: float = Field(25.0, gt=0, lt=100, description="percentile pruner only")
    reduction_factor: int = Field(3, ge=2, description="successive_halving and hyperband")


class SearchSpec(_Frozen):
    metric: MetricName = "val_loss"
    mode: Literal["min", "max"] | None = None  # null: min for val_loss, max for the others
    sampler: SamplerSpec = SamplerSpec()
    pruner: PrunerSpec = PrunerSpec()
    trials: int = Field(20, ge=1, description="finished (complete or pruned) trials wanted")
    concurrency: int = Field(1, ge=1, description="trials running at once")
    seed: int = 0
    max_failed_trials: int | None = Field(None, ge=0, description="null: max(3, trials // 2)")
    retries: int = Field(
        1, ge=0, description="re-runs of a trial that failed for a transient cause"
    )
    constraints: ConstraintsSpec = ConstraintsSpec()  # what the refitted model may cost to serve
    select: SelectSpec = SelectSpec()  # the single best trial, or a race of the top few

    @field_validator("sampler", "pruner", mode="before")
    @classmethod
    def _name_alone(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _mode_matches_metric(self) -> SearchSpec:
        if self.mode is not None and self.mode != MODES[self.metric]:
            raise ValueError(
                f"mode must be {MODES[self.metric]} for {self.metric}, got {self.mode}; "
                "or leave mode out"
            )
        return self

    @property
    def direction(self) -> Literal["min", "max"]:
        return self.mode or MODES[self.metric]  # type: ignore[return-value]

    @property
    def failure_budget(self) -> int:
        return (
            self.max_failed_trials
            if self.max_failed_trials is not None
            else max(3, self.trials // 2)
        )


class ResourcesSpec(_Frozen):
    cpus_per_trial: float = Field(1, gt=0)
    # auto: measure one trial on a GPU first, then pack as many per GPU as fit and pay
    # (search/engine/packing.py); no GPU in the cluster: 0.
    gpus_per_trial: float | Literal["auto"] = Field(
        0.0, description="0.25: four trials share one GPU; auto: measured before the search"
    )

    @field_validator("gpus_per_trial", mode="before")
    @classmethod
    def _number_or_auto(cls, value: Any) -> Any:
        if value == "auto":
            return value
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError(
                f"must be a number of GPUs (0.25: four trials share one) or auto, got {value!r}"
            )
        if value < 0:
            raise ValueError(f"must be >= 0, got {value}")
        if value > 1 and value != int(value):
            raise ValueError(f"must be a fraction of one GPU or a whole number, got {value}")
        return value

    @property
    def auto_gpus(self) -> bool:
        return self.gpus_per_trial == "auto"


class RaySpec(_Frozen):
    address: str | None = None  # null: start Ray here; "auto" or "ray://host:10001": a cluster


class StudySpec(_Frozen):
    name: str = Field(max_length=100)
    data: DataConfig = DigitsData()
    model: ModelSpec = ModelSpec()
    space: dict[str, Param] = Field(default_factory=dict)
    fixed: dict[str, Any] = Field(default_factory=dict)
    search: SearchSpec = SearchSpec()
    resources: ResourcesSpec = ResourcesSpec()
    storage: str | None = None  # null: sqlite file in the run dir; or any Optuna storage URL
    ray: RaySpec = RaySpec()

    @field_validator("name")
    @classmethod
    def _names_a_folder(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", value):
            raise ValueError(
                "must be letters, digits, '.', '_' or '-' (it names the run directory), "
                f"got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _space_and_fixed_fit_train_config(self) -> StudySpec:
        check_keys(self.space, "space")
        check_keys(self.fixed, "fixed")
        both = sorted(set(self.space) & set(self.fixed))
        if both:
            raise ValueError(f"{both[0]} is in both space and fixed; keep it in one of them")
        if "epochs" in self.space and "schedule_epochs" in {**self.space, **self.fixed}:
            raise ValueError(
                "schedule_epochs cannot be set while epochs is searched: every trial's schedule "
                "then spans space.epochs' highest value; drop schedule_epochs"
            )
        check_backbone_choices(self)
        base = self.base_config()
        for name, param in self.space.items():
            check_param(name, param, base)
        check_label_kind(self)
        return self

    @model_serializer(mode="wrap")
    def _backbone_once(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A searched backbone is named in space: alone, so a dump validates again."""
        data = handler(self)
        if "backbone" in self.space and isinstance(data.get("model"), dict):
            data["model"].pop("backbone", None)
        return data

    @property
    def multilabel(self) -> bool:
        return isinstance(self.data, MultiLabelData)

    @property
    def backbones(self) -> list[str]:
        """Every backbone a trial can train: space.backbone's choices, else model.backbone."""
        param = self.space.get("backbone")
        return (
            [str(c) for c in param.choices]
            if isinstance(param, CategoricalParam)
            else [self.model.backbone]
        )

    @property
    def budget(self) -> EpochBudget:
        """The epochs a trial trains and may stand for (study/budget.py)."""
        return EpochBudget.of(self)

    def base_config(self) -> dict[str, Any]:
        """model + fixed, validated as a TrainConfig: what every trial starts from."""
        values = {**self.model.model_dump(), **self.fixed}
        try:
            TrainConfig(**values)
        except ValidationError as exc:
            raise ValueError(first_error(exc, TrainConfig, prefix="fixed.")) from None
        return values

    def train_config(self, params: dict[str, Any] | None = None) -> TrainConfig:
        """The TrainConfig of one trial: the base config with the trial's sampled `params`."""
        return TrainConfig(**{**self.base_config(), **(params or {})})


class _Loader(yaml.SafeLoader):
    """YAML 1.2 floats: PyYAML reads `1e-3` (no dot) as a string, as YAML 1.1 did."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][-+]?[0-9]+)?$"
        r"|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
    ),
    list("-+0123456789."),
)


def load_study_spec(path: str | Path) -> StudySpec:
    """Read and validate a study file; any problem is one StudySpecError line."""
    path = Path(path)
    if not path.is_file():
        raise StudySpecError(f"study file {path} does not exist")
    try:
        raw = yaml.load(path.read_text(), Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise StudySpecError(f"{path}{where}: not valid YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise StudySpecError(f"{path}: a study file is a mapping (name:, data:, ...), got {raw!r}")
    return parse_study_spec(raw, source=str(path))


def parse_study_spec(raw: dict[str, Any], source: str = "study") -> StudySpec:
    try:
        return StudySpec.model_validate(raw)
    except ValidationError as exc:
        raise StudySpecError(f"{source}: {first_error(exc, StudySpec)}") from None


def dump_spec(spec: StudySpec) -> str:
    """The resolved spec (defaults filled in) as YAML, as written to the run directory."""
    return yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)


__all__ = ["StudySpec", "dump_spec", "load_study_spec", "parse_study_spec"]
