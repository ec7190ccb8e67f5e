"""What optuna-dashboard shows of a study beyond its trials: the metric's name on every axis,
study user attrs (data, backbone, space, fixed settings, the search; after the refit its test
result) and a markdown note that says the same in words."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import optuna

from search.study.params import CategoricalParam, FloatParam
from search.trials.values import format_value
from trainable import counted

if TYPE_CHECKING:
    from search.rundir.layout import DataInfo, Summary
    from search.study.spec import StudySpec

NOTE_TITLE = "What this study searches"


def describe_study(study: optuna.Study, spec: StudySpec, data: DataInfo) -> None:
    """Name the metric, and write the study's attrs and note (again on every run)."""

    with warnings.catch_warnings():  # set_metric_names is marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([spec.search.metric])
    for key, value in study_attrs(spec, data).items():
        study.set_user_attr(key, value)
    _save_note(study, spec, data, None)


def note_result(study: optuna.Study, spec: StudySpec, data: DataInfo, summary: Summary) -> None:
    """After the refit: its test result, in the attrs and the note."""
    study.set_user_attr("test_result", _result(summary))
    _save_note(study, spec, data, summary)


def study_attrs(spec: StudySpec, data: DataInfo) -> dict[str, str]:
    search = spec.search
    return {
        "data": _data(spec, data),
        "backbone": f"{' | '.join(spec.backbones)}, weights: {spec.model.weights}",
        "space": "; ".join(f"{n}: {describe_param(p)}" for n, p in spec.space.items()),
        "fixed": ", ".join(f"{k}={format_value(v)}" for k, v in spec.fixed.items()) or "none",
        "search": (
            f"{search.metric} ({search.direction}), {search.sampler.type} sampler, "
            f"{search.pruner.type} pruner, stops at {search.stop.shown()}"
        ),
    }


def _data(spec: StudySpec, data: DataInfo) -> str:
    where = getattr(spec.data, "root", None)
    source = spec.data.source + (f" {where}" if where else "")
    images = data.images
    kind = "tags" if data.multilabel else "classes"
    return (
        f"{source}, {data.image_size} px: {images['train']} train / {images['val']} val / "
        f"{images['test']} test images, {len(data.classes)} {kind}"
    )


def describe_param(param: Any) -> str:
    if isinstance(param, CategoricalParam):
        return "one of " + ", ".join(format_value(c) for c in param.choices)
    kind = "float" if isinstance(param, FloatParam) else "int"
    scale = ", log" if param.log else ""
    step = f", step {format_value(param.step)}" if param.step not in (None, 1) else ""
    return f"{kind} {format_value(param.low)} to {format_value(param.high)}{scale}{step}"


def _result(summary: Summary) -> str:
    return (
        f"trial {summary.best_trial} refitted on train + val; test {summary.test.line()} "
        f"({counted(summary.images['test'], 'image')})"
    )


def _save_note(
    study: optuna.Study, spec: StudySpec, data: DataInfo, summary: Summary | None
) -> None:
    from optuna_dashboard import save_note

    attrs = study_attrs(spec, data)
    lines = [
        f"## {NOTE_TITLE}",
        f"Fine-tuning **{attrs['backbone']}** on **{attrs['data']}**.",
        "",
        "| searched | values |",
        "|---|---|",
        *(f"| {n} | {describe_param(p)} |" for n, p in spec.space.items()),
        "",
        f"Held: {attrs['fixed']}.",
        "",
        f"Search: {attrs['search']}.",
        "",
        f"**Result**: {_result(summary)}." if summary else "**Result**: not refitted yet.",
    ]
    save_note(study, "\n".join(lines))


__all__ = ["NOTE_TITLE", "describe_param", "describe_study", "note_result", "study_attrs"]
