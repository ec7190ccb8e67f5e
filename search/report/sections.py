"""report.html's tables: what the study searched and held, every trial, and when and with
which versions the page was made."""

from __future__ import annotations

import datetime
import html
import platform
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from search.report.study_note import describe_param, study_attrs
from search.trials.attrs import TRAIN_SECONDS
from search.trials.states import search_trials, state_name
from search.trials.values import format_params, format_value, shown_params

if TYPE_CHECKING:
    import optuna

    from search.rundir.layout import DataInfo
    from search.study.spec import StudySpec

VERSIONS = ("hpsearch", "optuna", "ray", "torch", "torchvision", "timm", "optuna-dashboard")


def table(head: list[str], rows: list[tuple[str, ...]], header: bool = True) -> str:
    top = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>" if header else ""
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(format_value(c))}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table>{top}{body}</table>"


def settings_section(spec: StudySpec, data: DataInfo | None) -> str:
    """The data, the backbone, the space, the held settings and how the search ran."""
    search = spec.search
    if data is not None:
        attrs = study_attrs(spec, data)
        rows = [("data", attrs["data"]), ("backbone", attrs["backbone"])]
    else:  # before the refit the image counts are not kept: the data as configured
        where = getattr(spec.data, "root", None)
        source = spec.data.source + (f" {where}" if where else "")
        rows = [("data", f"{source}, {spec.data.image_size} px")]
        rows.append(("backbone", f"{' | '.join(spec.backbones)}, weights: {spec.model.weights}"))
    rows += [(f"searched: {name}", describe_param(p)) for name, p in spec.space.items()]
    rows.append(("held", ", ".join(f"{k}={format_value(v)}" for k, v in spec.fixed.items())))
    rows += [
        ("metric", f"{search.metric} ({search.direction})"),
        ("sampler, pruner", f"{search.sampler.type}, {search.pruner.type}"),
        ("stops at", search.stop.shown()),
        ("trials at once", str(search.concurrency)),
        ("picks", search.select.describe()),
    ]
    return "<h2>What was searched</h2>" + table(["", ""], [r for r in rows if r[1]], False)


def trials_section(study: optuna.Study, metric: str) -> str:
    """Every trial of the search, in order: how it ended, its value, epochs and parameters."""
    rows = []
    for trial in search_trials(study):
        seconds = trial.user_attrs.get(TRAIN_SECONDS)
        rows.append(
            (
                str(trial.number),
                state_name(trial),
                "" if trial.value is None else f"{trial.value:.4f}",
                str(len(trial.intermediate_values)),
                format_params(shown_params(trial)),
                "" if seconds is None else f"{float(seconds):.0f}",
            )
        )
    if not rows:
        return "<h2>Trials</h2><p>No trial yet.</p>"
    head = ["trial", "state", metric, "epochs run", "parameters", "training s"]
    return "<h2>Trials</h2>" + table(head, rows)


def about_section() -> str:
    """When the page was made, and with what."""
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    versions = [f"Python {platform.python_version()}"]
    for name in VERSIONS:
        try:
            versions.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            continue
    text = f"Written {when} with {', '.join(versions)}."
    return f"<h2>About this report</h2><p>{html.escape(text)}</p>"


__all__ = ["about_section", "settings_section", "table", "trials_section"]
