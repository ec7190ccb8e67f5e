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
from search.study.epochs import TrialEpochs
from search.study.params import CategoricalParam, Param
from search.study.search_spec import (
    MODES,
    MetricName,
    SearchSpec,
)
from search.study.settings import settings_problems
from search.study.validation_errors import every_error, first_error
from trainable import DataConfig, DigitsData, MultiLabelData, TrainConfig


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelSpec(_Frozen):
    backbone: str = "efficientnet_lite0"
    weights: str = "imagenet"


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
    address: str | None = None  # null: start Ray here; "auto" or "host:6379": a cluster

    @field_validator("address")
    @classmethod
    def _not_ray_client(cls, value: str | None) -> str | None:
        # Through Ray Client, Tune runs its driver as an actor on the cluster (Tuner's
        # _remote_tuner): the searcher, which holds the study and prints the progress, would be
        # pickled away from this terminal. Ray Jobs is Ray's way to drive from elsewhere.
        if value is not None and value.startswith("ray://"):
            raise ValueError(
                f"{value!r} is a Ray Client address, through which Ray Tune runs its driver on "
                "the cluster, away from this terminal; run hpsearch on a machine of the "
                "cluster with the head's address (host:6379, or auto)"
            )
        return value


class MlflowTarget(_Frozen):
    """Where a study's runs and its refitted model go (search/tracking.py)."""

    uri: str = Field(min_length=1)  # http(s)://host:port, databricks, ...; ${VAR} from the env
    experiment: str | None = None  # default: the study's name
    model: str | None = None  # the registered model's name; default: the study's name
    alias: str | None = None  # moved to each new version (champion, ...); default: none

    @field_validator("alias")
    @classmethod
    def _alias_is_a_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", value):
            raise ValueError(f"must be letters, digits, '_' or '-', got {value!r}")
        return value


class TrackingSpec(_Frozen):
    mlflow: MlflowTarget

    @field_validator("mlflow", mode="before")
    @classmethod
    def _uri_alone(cls, value: Any) -> Any:
        return {"uri": value} if isinstance(value, str) else value


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
    tracking: TrackingSpec | None = None  # null: results stay in the run directory

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
        problems = settings_problems(
            self.space,
            self.fixed,
            self.model.model_dump(),
            self.model.backbone if "backbone" in self.model.model_fields_set else None,
            multilabel=self.multilabel,
            metric=self.search.metric,
        )
        if problems:  # one line each (validation_errors.every_error splits them)
            raise ValueError("\n".join(problems))
        return self

    @model_validator(mode="after")
    def _gpu_hours_need_gpus(self) -> StudySpec:
        if self.search.stop.gpu_hours is not None and self.resources.gpus_per_trial == 0:
            raise ValueError(
                "search.budget.gpu_hours counts GPU time, and resources.gpus_per_trial is 0, "
                "so trials spend none: give each trial a GPU share, or set "
                "search.budget.minutes instead"
            )
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
    def weighs_serving_cost(self) -> bool:
        """Whether serving cost is a choice the study makes (backbones searched, or bounded
        by search.constraints) or asks for (search.constraints.measure): measured only then."""
        constraints = self.search.constraints
        return len(self.backbones) > 1 or bool(constraints.limits) or constraints.measure

    @property
    def trial_epochs(self) -> TrialEpochs:
        """The epochs a trial trains and may stand for (study/epochs.py)."""
        param = self.space.get("epochs")
        return TrialEpochs.of(param, self.train_config().epochs if param is None else 0)

    def with_absolute_paths(self) -> StudySpec:
        """The study with data.root, data.labels and a model.weights file made absolute (they
        are read from the folder the command runs in): what the run directory keeps, so the
        study resumes from any folder."""
        data = {
            name: Path(value).expanduser().absolute()
            for name in ("root", "labels")
            if isinstance(value := getattr(self.data, name, None), Path)
        }
        model = self.model
        if model.weights not in ("imagenet", "none"):
            weights = str(Path(model.weights).expanduser().absolute())
            model = model.model_copy(update={"weights": weights})
        return self.model_copy(update={"data": self.data.model_copy(update=data), "model": model})

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
    """YAML 1.2 floats: PyYAML reads `1e-3` (no dot) as a string, as YAML 1.1 did. A key given
    twice in one mapping is an error: PyYAML keeps the last and drops the first silently."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    problem=f"{key} is given twice (first on line {first}); keep one",
                    problem_mark=key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


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
    return parse_study_spec(read_study_file(path), source=str(path))


def read_study_file(path: str | Path) -> dict[str, Any]:
    """A study file's YAML as a mapping, not yet validated; one line if it cannot be."""
    path = Path(path)
    if path.is_dir():
        inside = path / "study.yaml"
        hint = f"did you mean {inside}?" if inside.is_file() else "give the study's YAML file"
        raise StudySpecError(f"study file {path} is a folder, not a file; {hint}")
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
    return raw


def parse_study_spec(raw: dict[str, Any], source: str = "study") -> StudySpec:
    try:
        return StudySpec.model_validate(raw)
    except ValidationError as exc:
        lines = every_error(exc, StudySpec)
        raise StudySpecError("\n".join(f"{source}: {line}" for line in lines)) from None


def dump_spec(spec: StudySpec) -> str:
    """The resolved spec (defaults filled in) as YAML, as written to the run directory."""
    return yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)


__all__ = [
    "MODES",
    "MetricName",
    "SearchSpec",
    "StudySpec",
    "dump_spec",
    "load_study_spec",
    "parse_study_spec",
    "read_study_file",
]
