"""One sentence on over- or underfitting, from a trial's per-epoch curves (Keras-style)."""

from __future__ import annotations


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
