"""report.html: one self-contained page (images embedded) of what a run found.

Written at the end of every run, finished or not, and by `hpsearch report RUN_DIR`. Its figures
are also saved as PNG files in plots/.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search.report import plots
from search.report.diagnosis import fit_diagnosis
from search.report.front import front_figure, front_head, front_rows
from search.report.held_out import confusion_matrix, tag_scores
from search.report.parallel import parallel_coordinates
from search.report.pruning import pruning_rule, pruning_savings
from search.report.sections import about_section, settings_section, table, trials_section
from search.report.summary_rows import summary_rows
from search.rundir.layout import RunDir, Summary, write_bytes, write_text
from search.trials.attrs import FAIL_REASON
from search.trials.curves import records_of
from search.trials.states import complete_trials, is_failed, search_trials
from search.trials.values import best_or_none, format_params

if TYPE_CHECKING:
    import optuna
    from matplotlib.figure import Figure
    from optuna.trial import FrozenTrial

    from search.study.spec import StudySpec

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .8em 0; } td, th { padding: .25em .8em;
border-bottom: 1px solid #eee; text-align: left; } th { background: #f6f6f6; }
img { max-width: 100%; } .note { background: #fff8e1; padding: .6em 1em; border-radius: 4px; }
"""


def write_report(run: RunDir, spec: StudySpec, study: optuna.Study) -> Path:
    """Render every figure into plots/ and report.html; returns the report's path."""
    summary = run.read_summary()
    test = run.read_test_metrics() if summary else None
    refit = run.read_history() if summary else []
    # The refitted trial where there is one: with search.constraints it may not be the best.
    best = study.trials[summary.best_trial] if summary else best_or_none(study)
    refitted = summary.best_trial if summary else None
    figures = _figures(spec, study, best, refit, test)
    figures["front"] = front_figure(study, spec, refitted)
    images = _render(run, figures)
    body = "\n".join(
        [
            f"<h1>Study {html.escape(spec.name)}</h1>",
            _summary_section(spec, study, summary, best),
            settings_section(spec, summary),
            _image(images, "optimization_history", "Optimization history"),
            _image(images, "parallel", "The trials across their parameters"),
            _importances_section(images, study),
            _image(images, "slices", "Parameters against the value"),
            _image(
                images,
                "trial_curves",
                "Validation curves of every trial",
                caption="Dashed lines are trials the pruner stopped (each ending in an x, up to 50 "
                "trials); the best five complete trials are named at their ends.",
            ),
            _pruning_section(images, spec, study),
            _selection_section(spec, study),
            _front_section(images, spec, study, refitted),
            _fit_section(images, best, refit),
            _test_section(images, test),
            _failures_section(study),
            trials_section(study, spec.search.metric),
            about_section(),
        ]
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>hpsearch: "
        f"{html.escape(spec.name)}</title><style>{STYLE}</style></head><body>{body}"
        "</body></html>\n"
    )
    write_text(run.report, page)
    return run.report


def report_or_say(run: RunDir, spec: StudySpec, study: optuna.Study, echo: Any) -> None:
    """report.html for every run that reached the search, finished or not; its path said."""
    try:
        echo(f"report: {write_report(run, spec, study)}")
    except Exception as exc:  # a report must never hide why the run itself stopped
        echo(f"report: not written ({type(exc).__name__}: {exc}); try `hpsearch report`")


def _figures(
    spec: StudySpec,
    study: optuna.Study,
    best: FrozenTrial | None,
    refit: list[dict[str, float]],
    test: dict[str, Any] | None,
) -> dict[str, Figure | None]:
    return {
        "optimization_history": plots.optimization_history(study, spec.search.metric),
        "importances": plots.importances(study),
        "parallel": parallel_coordinates(study, spec.search.metric),
        "slices": plots.slices(study, spec.search.metric),
        "trial_curves": plots.trial_curves(study, spec.search.metric),
        "epochs_reached": plots.epochs_reached(
            study, spec.trial_epochs.epochs, spec.search.pruner.rungs(spec.trial_epochs.epochs)
        ),
        "fit_curves": plots.fit_curves(best, refit) if best else None,
        "confusion_matrix": confusion_matrix(test) if test and not _tags(test) else None,
        "tag_scores": tag_scores(test) if test and _tags(test) else None,
    }


def _tags(test: dict[str, Any]) -> bool:
    return test.get("kind") == "multilabel"


def _render(run: RunDir, figures: dict[str, Figure | None]) -> dict[str, bytes]:
    """PNG bytes of every figure there is, also saved as plots/<name>.png."""
    images = {name: plots.render(fig) for name, fig in figures.items() if fig is not None}
    for name, png in images.items():
        write_bytes(run.plots / f"{name}.png", png)
    return images


def _summary_section(
    spec: StudySpec, study: optuna.Study, summary: Summary | None, best: FrozenTrial | None
) -> str:
    return "<h2>Summary</h2>" + table(["", ""], summary_rows(spec, study, summary, best), False)


def _importances_section(images: dict[str, bytes], study: optuna.Study) -> str:
    complete = len(complete_trials(study))
    caption = (
        f"fANOVA over {complete} complete trials: how much of the variance of the value each "
        f"parameter explains. With fewer than {plots.TRUSTED_IMPORTANCE_TRIALS} complete trials "
        "take it as a hint, not a finding."
    )
    if complete >= plots.TRUSTED_IMPORTANCE_TRIALS:
        caption = f"fANOVA over {complete} complete trials."
    missing = (
        f"Importances need at least {plots.MIN_IMPORTANCE_TRIALS} complete trials that differ; "
        f"this study has {complete}."
    )
    return _image(images, "importances", "Hyperparameter importances", caption, missing)


def _pruning_section(images: dict[str, bytes], spec: StudySpec, study: optuna.Study) -> str:
    savings = pruning_savings(spec, search_trials(study))
    return _image(
        images,
        "epochs_reached",
        "Pruning",
        caption=f"Epochs trained: {savings}. {pruning_rule(spec)}",
        missing="No trial has trained an epoch yet.",
    )


def _front_section(
    images: dict[str, bytes], spec: StudySpec, study: optuna.Study, refitted: int | None
) -> str:
    if not spec.weighs_serving_cost:  # one backbone, no bound: nothing to trade
        return ""
    limits = spec.search.constraints.limits
    bounds = ", ".join(f"{k} {v:g}" for k, v in limits.items()) or "none"
    caption = (
        "Each backbone's serving cost was measured once before the search, on the device the "
        f"trials trained on. search.constraints: {bounds}. The front's trials, cheapest first:"
    )
    section = _image(
        images,
        "front",
        "Accuracy against serving cost",
        caption=caption,
        missing="No complete trial with a measured serving cost yet.",
    )
    rows = front_rows(study, spec, refitted)
    return section + (table(front_head(spec.search.metric), rows) if rows else "")


def _fit_section(
    images: dict[str, bytes], best: FrozenTrial | None, refit: list[dict[str, float]]
) -> str:
    if best is None:
        return ""
    text = fit_diagnosis(records_of(best))
    caption = (
        f"Trial {best.number} trained on the training split and was validated after "
        "every epoch; the refit trained the same configuration on train + validation "
        f"for {len(refit)} epochs (no validation split left). Training metrics are "
        "averaged over each epoch with dropout and augmentation on."
    )
    return (
        _image(
            images,
            "fit_curves",
            "The best configuration: training against validation",
            caption=caption,
        )
        + f"<p class='note'>{html.escape(text)}</p>"
    )


def _test_section(images: dict[str, bytes], test: dict[str, Any] | None) -> str:
    if not test:
        return "<h2>Test split</h2><p>Not evaluated yet: the refit runs when the search ends.</p>"
    if _tags(test):
        return _tag_section(images, test)
    rows = [
        (name, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}", str(s["support"]))
        for name, s in test["per_class"].items()
    ]
    return _image(images, "confusion_matrix", "Test split: confusion matrix") + table(
        ["class", "precision", "recall", "F1", "images"], rows
    )


def _tag_section(images: dict[str, bytes], test: dict[str, Any]) -> str:
    """Multi-label test scores: per tag, by threshold, and against the best constant answer."""
    beta = f"F{test['beta']:g}"
    rows = [
        (
            name,
            f"{s['precision']:.3f}",
            f"{s['recall']:.3f}",
            f"{s['fbeta']:.3f}",
            str(s["support"]),
        )
        for name, s in test["per_tag"].items()
    ]
    lines = [
        f"At threshold {test['threshold']:g} (chosen on the validation split): {beta} "
        f"{test['fbeta']:.4f}, accuracy_thresh {test['accuracy_thresh']:.4f}, exact tag set "
        f"{test['exact_match']:.4f} of {test['images']} images."
    ]
    constant = test.get("constant")
    if constant:
        lines.append(
            f"The best constant answer ({' '.join(constant['tags'])} for every image) scores "
            f"{beta} {constant['fbeta']:.4f}, accuracy_thresh {constant['accuracy_thresh']:.4f}."
        )
    text = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return (
        _image(images, "tag_scores", "Test split: scores per tag")
        + text
        + table(["tag", "precision", "recall", beta, "images with it"], rows)
    )


def _selection_section(spec: StudySpec, study: optuna.Study) -> str:
    """How search.select picked, where it has more to say than 'the best trial'."""
    section = spec.search.select.section(study, spec.search.constraints.limits)
    if section is None:
        return ""
    text = f"<p>{html.escape(section.text)}</p>"
    return f"<h2>{html.escape(section.title)}</h2>" + text + table(section.header, section.rows)


def _failures_section(study: optuna.Study) -> str:
    failed = [t for t in study.get_trials(deepcopy=False) if is_failed(t)]
    if not failed:
        return ""
    rows = [
        (str(t.number), format_params(t.params), str(t.user_attrs.get(FAIL_REASON, "")))
        for t in failed
    ]
    return "<h2>Failed trials</h2>" + table(["trial", "parameters", "reason"], rows)


def _image(
    images: dict[str, bytes],
    name: str,
    title: str,
    caption: str = "",
    missing: str = "Nothing to show yet.",
) -> str:
    if name not in images:
        return f"<h2>{html.escape(title)}</h2><p>{html.escape(missing)}</p>"
    data = base64.b64encode(images[name]).decode()
    text = f"<p>{html.escape(caption)}</p>" if caption else ""
    return (
        f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' "
        f"src='data:image/png;base64,{data}'>{text}"
    )
