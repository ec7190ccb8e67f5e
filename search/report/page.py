"""report.html: one self-contained page (images embedded) of what a run found.

Written at the end of every run, finished or not, and by `hpsearch report RUN_DIR`. Its figures
are also saved as PNG files in plots/.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search.engine.curves import records_of
from search.engine.trial_attrs import FAIL_REASON, TRAIN_SECONDS
from search.report import plots
from search.report.progress import format_params, format_value
from trainable import TrainConfig

if TYPE_CHECKING:
    import optuna
    from matplotlib.figure import Figure

    from search.study.spec import StudySpec

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .8em 0; } td, th { padding: .25em .8em;
border-bottom: 1px solid #eee; text-align: left; } th { background: #f6f6f6; }
img { max-width: 100%; } .note { background: #fff8e1; padding: .6em 1em; border-radius: 4px; }
"""


def write_report(run_dir: Path, spec: StudySpec, study: optuna.Study) -> Path:
    """Render every figure into plots/ and report.html; returns the report's path."""
    summary = _read_json(run_dir / "summary.json")
    test = _read_json(run_dir / "test_metrics.json")
    refit = _refit_history(run_dir) if summary else []
    best = _best(study)
    figures: dict[str, Figure | None] = {
        "optimization_history": plots.optimization_history(study, spec.search.metric),
        "importances": plots.importances(study),
        "slices": plots.slices(study, spec.search.metric),
        "trial_curves": plots.trial_curves(study, spec.search.metric),
        "fit_curves": plots.fit_curves(best, refit) if best else None,
        "confusion_matrix": plots.confusion_matrix(test) if test else None,
    }
    images = {name: plots.render(fig) for name, fig in figures.items() if fig is not None}
    (run_dir / "plots").mkdir(exist_ok=True)
    for name, png in images.items():
        (run_dir / "plots" / f"{name}.png").write_bytes(png)
    body = "\n".join(
        [
            f"<h1>Study {html.escape(spec.name)}</h1>",
            _summary_section(spec, study, summary, best),
            _image(images, "optimization_history", "Optimization history"),
            _image(
                images,
                "importances",
                "Hyperparameter importances",
                missing="Importances need at least two complete trials that differ.",
            ),
            _image(images, "slices", "Parameters against the value"),
            _image(
                images,
                "trial_curves",
                "Validation curves of every trial",
                caption="Dashed lines ending in x are trials the pruner stopped.",
            ),
            _fit_section(images, best, refit),
            _test_section(images, test),
            _failures_section(study),
        ]
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>hpsearch: "
        f"{html.escape(spec.name)}</title><style>{STYLE}</style></head><body>{body}"
        "</body></html>\n"
    )
    from search.rundir.results import write_text

    write_text(run_dir / "report.html", page)
    return run_dir / "report.html"


def _summary_section(
    spec: StudySpec,
    study: optuna.Study,
    summary: dict[str, Any] | None,
    best: optuna.trial.FrozenTrial | None,
) -> str:
    from collections import Counter

    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state.name.lower() for t in trials)
    planned = TrainConfig(**spec.base_config()).epochs
    run = sum(len(t.intermediate_values) for t in trials)
    saved = sum(
        max(0, int(t.params.get("epochs", planned)) - len(t.intermediate_values))
        for t in trials
        if t.state.name == "PRUNED"
    )
    trained = sum(float(t.user_attrs.get(TRAIN_SECONDS, 0)) for t in trials)
    rows = [
        ("trials", ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "none yet"),
        ("metric", f"{spec.search.metric} ({spec.search.direction})"),
        ("sampler, pruner", f"{spec.search.sampler.type}, {spec.search.pruner.type}"),
        (
            "epochs trained",
            f"{run}; pruning saved {saved} more"
            + (f" ({saved / (run + saved):.0%})" if run + saved else ""),
        ),
        ("time in trials", f"{trained:.0f} s of training, summed over trials"),
    ]
    if summary:
        seconds = summary.get("seconds", {})
        rows.append(
            (
                "wall time",
                f"search {seconds.get('search', '?')} s, "
                f"refit and test {seconds.get('refit', '?')} s",
            )
        )
    if best is not None:
        rows.insert(1, ("best trial", f"#{best.number}: {spec.search.metric} {best.value:.4f}"))
        rows.insert(2, ("best parameters", format_params(best.params)))
    if summary:
        test = summary["test"]
        rows.append(
            (
                "test split",
                f"accuracy {test['accuracy']:.4f}, macro F1 "
                f"{test['macro_f1']:.4f}, loss {test['loss']:.4f}",
            )
        )
    else:
        rows.append(("test split", "not evaluated yet: the search has not finished"))
    return "<h2>Summary</h2>" + _table(["", ""], rows, header=False)


def _fit_section(
    images: dict[str, bytes], best: optuna.trial.FrozenTrial | None, refit: list[dict[str, float]]
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


def fit_diagnosis(history: list[dict[str, float]]) -> str:
    """One sentence on over- or underfitting, from a trial's per-epoch curves."""
    epochs = [r for r in history if "val_loss" in r and "train_loss" in r]
    if not epochs:
        return "No per-epoch curves were recorded for this trial."
    last = epochs[-1]
    best = min(epochs, key=lambda r: r["val_loss"])
    gap = last["val_loss"] - last["train_loss"]
    accuracy_gap = last.get("train_accuracy", 0) - last.get("val_accuracy", 0)
    if best["epoch"] < last["epoch"] and last["val_loss"] > 1.1 * best["val_loss"]:
        return (
            f"Overfitting: validation loss was lowest at epoch {best['epoch']:.0f} "
            f"({best['val_loss']:.4f}) and rose to {last['val_loss']:.4f} by epoch "
            f"{last['epoch']:.0f}. Fewer epochs, early_stopping_patience, more dropout or "
            "augmentation would help."
        )
    if accuracy_gap > 0.1:
        return (
            f"Overfitting gap: training accuracy {last['train_accuracy']:.3f} against "
            f"validation accuracy {last['val_accuracy']:.3f} at the last epoch."
        )
    if last.get("val_accuracy", 1) < 0.6 and last.get("train_accuracy", 1) < 0.6:
        return (
            f"Underfitting: training accuracy is {last['train_accuracy']:.3f} and validation "
            f"accuracy {last['val_accuracy']:.3f}; train longer or with a higher lr."
        )
    return (
        f"No sign of overfitting: at the last epoch validation loss is {last['val_loss']:.4f} "
        f"against training loss {last['train_loss']:.4f} (gap {gap:+.4f}), and validation "
        "loss was still at its lowest or close to it."
    )


def _test_section(images: dict[str, bytes], test: dict[str, Any] | None) -> str:
    if not test:
        return "<h2>Test split</h2><p>Not evaluated yet: the refit runs when the search ends.</p>"
    rows = [
        (name, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}", str(s["support"]))
        for name, s in test["per_class"].items()
    ]
    return _image(images, "confusion_matrix", "Test split: confusion matrix") + _table(
        ["class", "precision", "recall", "F1", "images"], rows
    )


def _failures_section(study: optuna.Study) -> str:
    failed = [t for t in study.get_trials(deepcopy=False) if t.state.name == "FAIL"]
    if not failed:
        return ""
    rows = [
        (str(t.number), format_params(t.params), str(t.user_attrs.get(FAIL_REASON, "")))
        for t in failed
    ]
    return "<h2>Failed trials</h2>" + _table(["trial", "parameters", "reason"], rows)


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


def _table(head: list[str], rows: list[tuple[str, ...]], header: bool = True) -> str:
    top = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>" if header else ""
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(format_value(c))}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table>{top}{body}</table>"


def _best(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    try:
        return study.best_trial
    except ValueError:
        return None


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _refit_history(run_dir: Path) -> list[dict[str, float]]:
    import pandas as pd

    path = run_dir / "history.csv"
    return pd.read_csv(path).to_dict("records") if path.is_file() else []
