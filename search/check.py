"""`hpsearch check STUDY`: every problem of a study file at once, each on its own line, without
starting a search; `hpsearch run` runs it first.

In turn: the file and its YAML (nothing else can be read without them); every field, all of
pydantic's errors rather than the first; then the inputs of whatever part validated: the data
folder (read as a search would read it), each backbone and its weights (without building a
model), the warm-start studies, an external storage and a Ray address (one round trip or
connect each). Torch loads for the data and the backbones; no Ray starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from search.deadlines import connect_seconds
from search.engine.cluster import check_answers
from search.errors import USER_ERRORS, StudySpecError, first_line
from search.rundir.storage import check_reachable
from search.start.settings import WarmSource
from search.start.warm_start import check_warm_start
from search.study.params import Param
from search.study.pointless import pointless_settings
from search.study.settings import settings_problems
from search.study.spec import ModelSpec, RaySpec, StudySpec, TrackingSpec, read_study_file
from search.study.validation_errors import every_error
from search.tracking import tracking_uri
from search.urls import masked
from trainable import DataConfig, check_backbone, prepare


@dataclass
class Checked:
    spec: StudySpec | None  # None where a field is wrong
    problems: list[str] = field(default_factory=list)  # one line each
    found: list[str] = field(default_factory=list)  # what was read, for the all-clear

    @property
    def ok(self) -> bool:
        return not self.problems


def check_study(path: str | Path) -> Checked:
    """Every problem of the study file at `path`; its spec where every field is right."""

    path = Path(path)
    try:
        raw = read_study_file(path)
    except StudySpecError as exc:
        return Checked(None, [str(exc)])
    checked = Checked(None)
    checked.spec = _fields(raw, path, checked)
    for check in (_data, _backbones, _warm_starts, _storage, _ray, _tracking):
        try:
            found = check(checked.spec, raw)
        except USER_ERRORS as exc:  # each names its field (data.root, model.weights, ...)
            checked.problems.append(str(exc))
        else:
            if found:
                checked.found.append(found)
    return checked


def _each(items: list[Any], check: Callable[[Any], str | None]) -> list[str]:
    """`check` of every item, though an earlier one fails: their lines, or every problem."""
    found, problems = [], []
    for item in items:
        try:
            found.append(check(item))
        except USER_ERRORS as exc:
            problems.append(str(exc))
    if problems:
        raise StudyProblems(problems)
    return [line for line in found if line]


def _fields(raw: dict[str, Any], path: Path, checked: Checked) -> StudySpec | None:

    try:
        return StudySpec.model_validate(raw)
    except ValidationError as exc:
        lines = every_error(exc, StudySpec)
        if any(error["loc"] for error in exc.errors()):  # a field failed: space: and fixed:
            lines += [p for p in _settings(raw) if p not in lines]  # were not checked yet
        checked.problems += [f"{path}: {line}" for line in lines]
        return None


def _settings(raw: dict[str, Any]) -> list[str]:
    """space: and fixed: checked on their own, from whatever of the file validates alone:
    pydantic checks them as a whole study only once every field of it is right."""
    space = raw.get("space") or {}
    fixed = raw.get("fixed") or {}
    if not isinstance(space, dict) or not isinstance(fixed, dict):
        return []  # a field error says so
    params = {k: p for k, v in space.items() if (p := _section({k: v}, k, Param)) is not None}
    model = _section(raw, "model", ModelSpec) or ModelSpec()
    held = (raw.get("model") or {}).get("backbone") if isinstance(raw.get("model"), dict) else None
    search = raw.get("search") if isinstance(raw.get("search"), dict) else {}
    data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
    return settings_problems(
        params,
        fixed,
        model.model_dump(),
        held if isinstance(held, str) else None,
        multilabel=data.get("source") == "multilabel",
        metric=str(search.get("metric", "val_loss")),
    )


def _section(raw: dict[str, Any], key: str, kind: Any) -> Any:
    """A part of a study whose whole does not validate, validated alone; None if it fails too
    (its own error is among the field errors already)."""

    try:
        return TypeAdapter(kind).validate_python(raw.get(key, {}) or {})
    except ValidationError:
        return None


def _data(spec: StudySpec | None, raw: dict[str, Any]) -> str | None:

    config = spec.data if spec is not None else _section(raw, "data", DataConfig)
    if config is None:
        return None
    splits = prepare(config)
    found = (
        f"data: {len(splits.train)} train / {len(splits.val or ())} val / {len(splits.test)} "
        f"test images, {splits.num_classes} {'tags' if splits.multilabel else 'classes'}"
    )
    if spec is None:
        return found
    warnings = pointless_settings(spec, len(splits.train))
    return "\n  ".join([found, *(f"warning: {line}" for line in warnings)])


def _backbones(spec: StudySpec | None, raw: dict[str, Any]) -> str | None:

    if spec is not None:
        backbones, weights = spec.backbones, spec.model.weights
    else:
        model = _section(raw, "model", ModelSpec)
        choices = ((raw.get("space") or {}).get("backbone") or {}).get("choices")
        if model is None:
            return None
        backbones, weights = [str(c) for c in choices or [model.backbone]], model.weights
    _each(backbones, lambda backbone: check_backbone(backbone, weights))
    return f"backbone: {', '.join(backbones)} (weights: {weights})"


def _warm_starts(spec: StudySpec | None, raw: dict[str, Any]) -> str | None:
    """Each earlier study opened and fitted; where another field is wrong, opened only."""
    if spec is not None:
        sources = list(spec.search.warm_start)
    else:
        search = raw.get("search") if isinstance(raw.get("search"), dict) else {}
        sources = _section(search, "warm_start", list[WarmSource]) or []
    return "; ".join(_each(sources, lambda source: check_warm_start(source, spec))) or None


def _storage(spec: StudySpec | None, raw: dict[str, Any]) -> str | None:

    url = spec.storage if spec is not None else raw.get("storage")
    if not isinstance(url, str) or not url:
        return None
    check_reachable(url)
    return f"storage: {masked(url)} answers"


def _ray(spec: StudySpec | None, raw: dict[str, Any]) -> str | None:

    ray = spec.ray if spec is not None else _section(raw, "ray", RaySpec)
    address = ray.address if ray is not None else None
    if not address:
        return None
    check_answers(address)
    return f"ray: {address} answers"


def _tracking(spec: StudySpec | None, raw: dict[str, Any]) -> str | None:
    """Its ${VAR}s set and MLflow installed; whether it answers now is news, not a problem:
    a run goes on without it (search/tracking.py)."""
    tracking = spec.tracking if spec is not None else _section(raw, "tracking", TrackingSpec)
    if tracking is None:
        return None
    uri = tracking_uri(tracking.mlflow.uri)
    if not uri.startswith(("http://", "https://")):
        return f"tracking: MLflow at {masked(uri)}"
    import urllib.request

    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=connect_seconds()):
            return f"tracking: MLflow at {masked(uri)} answers"
    except OSError as exc:
        return (
            f"tracking: MLflow at {masked(uri)} does not answer now ({first_line(exc)}); a run "
            "goes on without it, and `hpsearch track RUN_DIR` sends what is missing later"
        )


class StudyProblems(StudySpecError):
    """A study file with problems: every one of them, a line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


__all__ = ["Checked", "StudyProblems", "check_study"]
