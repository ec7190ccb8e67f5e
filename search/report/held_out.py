"""The test split's figures: the confusion matrix, and for tags their scores by threshold."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from search.report.plots import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def confusion_matrix(test: dict[str, Any]) -> Figure:
    """Test-split confusion matrix: rows the true class, columns the predicted one."""
    import numpy as np

    matrix = np.asarray(test["confusion_matrix"])
    classes = test["classes"]
    size = max(3.5, 0.45 * len(classes) + 1.5)
    figure = new_figure(figsize=(size + 1, size))
    axes = figure.subplots()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, shrink=0.8)
    if len(classes) <= 30:
        axes.set_xticks(range(len(classes)), classes, rotation=90)
        axes.set_yticks(range(len(classes)), classes)
        threshold = matrix.max() / 2 if matrix.size else 0
        for (row, column), count in np.ndenumerate(matrix):
            if count:
                axes.text(
                    column,
                    row,
                    str(count),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if count > threshold else "black",
                )
    axes.set(xlabel="predicted", ylabel="true", title="Test confusion matrix")
    return figure


def tag_scores(test: dict[str, Any]) -> Figure:
    """Multi-label test split: each tag's precision and recall, and the scores by threshold."""
    import numpy as np

    tags = test["tags"]
    figure = new_figure(figsize=(max(6.0, 0.5 * len(tags) + 4.5), 3.6))
    bars, curve = figure.subplots(1, 2, width_ratios=[max(2, len(tags)), 3])
    positions = np.arange(len(tags))
    for offset, key, color in ((-0.2, "precision", "tab:blue"), (0.2, "recall", "tab:orange")):
        values = [test["per_tag"][t][key] for t in tags]
        bars.bar(positions + offset, values, width=0.4, color=color, label=key)
    bars.set_xticks(positions, tags, rotation=60 if len(tags) > 6 else 0, ha="right")
    bars.set(ylim=(0, 1.05), title=f"Per tag, at threshold {test['threshold']:g}")
    bars.legend(fontsize=8, loc="lower right")
    thresholds = sorted(test["at_thresholds"], key=float)
    xs = [float(t) for t in thresholds]
    for key, label in (("fbeta", f"F{test['beta']:g}"), ("accuracy_thresh", "accuracy_thresh")):
        curve.plot(xs, [test["at_thresholds"][t][key] for t in thresholds], label=label)
    curve.axvline(test["threshold"], color="gray", linestyle=":", label="threshold used")
    curve.set(xlabel="threshold", ylim=(0, 1.02), title="Test scores by threshold")
    curve.legend(fontsize=8)
    return figure


__all__ = ["confusion_matrix", "tag_scores"]
