"""Accuracy against serving cost in the report: the metric of every complete trial against its
backbone's latency, the Pareto front through them, the refitted trial marked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from search.report.plots import log_scale_if_spread
from search.trials.serving import cost_of, pareto_front
from search.trials.states import complete_trials
from search.trials.values import format_value, minimizes

if TYPE_CHECKING:
    import optuna
    from matplotlib.figure import Figure

    from search.study.spec import StudySpec


def front_figure(study: optuna.Study, spec: StudySpec, refitted: int | None) -> Figure | None:
    """None until a complete trial carries its serving cost, and where the study does not
    weigh it (one backbone, no bound: every point at one latency)."""
    from matplotlib.figure import Figure

    if not spec.weighs_serving_cost:
        return None
    trials = [t for t in complete_trials(study) if cost_of(t) is not None]
    if not trials:
        return None
    metric = spec.search.metric
    figure = Figure(figsize=(6.5, 3.8), layout="constrained")
    axes = figure.subplots()
    for backbone in spec.backbones:  # in the study's order, so colours keep their meaning
        mine = [t for t in trials if _backbone(t, spec) == backbone]
        if not mine:
            continue
        axes.scatter(
            [cost_of(t)["latency_ms"] for t in mine], [t.value for t in mine], s=22, label=backbone
        )
    front = pareto_front(trials, minimizes(study))
    axes.plot(
        [cost_of(t)["latency_ms"] for t in front],
        [t.value for t in front],
        "k--",
        linewidth=1,
        label="front",
    )
    for trial in front:
        axes.annotate(f"#{trial.number}", (cost_of(trial)["latency_ms"], trial.value), fontsize=7)
    chosen = next((t for t in trials if t.number == refitted), None)
    if chosen is not None:
        axes.scatter(
            cost_of(chosen)["latency_ms"],
            chosen.value,
            s=160,
            facecolors="none",
            edgecolors="red",
            linewidths=1.5,
            label=f"refitted (#{chosen.number})",
        )
    bound = spec.search.constraints.latency_ms
    if bound is not None:
        axes.axvline(bound, color="gray", linestyle=":", label="search.constraints.latency_ms")
    log_scale_if_spread(axes, [t.value for t in trials])
    axes.legend(fontsize=8)
    axes.set(
        xlabel="latency, ms an image (batch 1)", ylabel=metric, title=f"{metric} against latency"
    )
    return figure


def front_rows(study: optuna.Study, spec: StudySpec, refitted: int | None) -> list[tuple[str, ...]]:
    """The front's trials, cheapest first: number, backbone, value, the serving figures."""
    trials = [t for t in complete_trials(study) if cost_of(t) is not None]
    rows = []
    for trial in pareto_front(trials, minimizes(study)):
        cost = cost_of(trial) or {}
        mark = " (refitted)" if trial.number == refitted else ""
        rows.append(
            (
                f"{trial.number}{mark}",
                _backbone(trial, spec),
                f"{trial.value:.4f}",
                *(
                    format_value(cost[k])
                    for k in ("latency_ms", "throughput", "params_m", "macs_g")
                ),
            )
        )
    return rows


def front_head(metric: str) -> list[str]:
    """The column names of `front_rows`."""
    return ["trial", "backbone", metric, "latency_ms", "throughput", "params_m", "macs_g"]


def _backbone(trial: optuna.trial.FrozenTrial, spec: StudySpec) -> str:
    return str(trial.params.get("backbone", spec.model.backbone))
