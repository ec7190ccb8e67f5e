"""Classification metrics of one evaluation: what test_metrics.json holds."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class Evaluation:
    loss: float  # mean cross-entropy, no label smoothing or class weights
    accuracy: float
    macro_f1: float
    per_class: dict[str, dict[str, float]]  # class -> precision, recall, f1, support
    confusion_matrix: list[list[int]]  # rows: true class, columns: predicted
    classes: list[str]
    images: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def classification_metrics(
    predictions: np.ndarray, targets: np.ndarray, classes: list[str], loss: float
) -> Evaluation:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        targets, predictions, labels=labels, zero_division=0
    )
    per_class = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
    }
    present = support > 0  # a class absent from this split does not drag macro F1 to 0
    return Evaluation(
        loss=float(loss),
        accuracy=float((predictions == targets).mean()) if len(targets) else 0.0,
        macro_f1=float(f1[present].mean()) if present.any() else 0.0,
        per_class=per_class,
        confusion_matrix=confusion_matrix(targets, predictions, labels=labels).tolist(),
        classes=list(classes),
        images=len(targets),
    )


# Multi-label scores, as fastai's planet example judges them: a tag is predicted where its
# probability is above a threshold; F-beta is averaged over images (Kaggle's "mean F2").
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))  # 0.05 ... 0.95


@dataclass(frozen=True)
class MultiLabelEvaluation:
    loss: float  # mean binary cross-entropy over images and tags, no positive weights
    fbeta: float  # F-beta of each image's predicted tag set, averaged over images
    accuracy_thresh: float  # share of (image, tag) pairs predicted right
    exact_match: float  # share of images whose predicted tag set is exactly right
    threshold: float
    beta: float
    per_tag: dict[str, dict[str, float]]  # tag -> precision, recall, fbeta, support
    at_thresholds: dict[str, dict[str, float]]  # "0.3" -> fbeta, accuracy_thresh
    tags: list[str]
    images: int
    # The best constant answer (one tag set for every image, chosen on the training split):
    # what a model must clearly beat. Filled in by the refit, which has the training split.
    constant: dict[str, Any] | None = None
    kind: str = "multilabel"

    @property
    def classes(self) -> list[str]:
        return self.tags

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _precision_recall_fbeta(
    predicted: torch.Tensor, truth: torch.Tensor, dim: int, beta: float, empty: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(precision, recall, F-beta, true count) along `dim` of (N, T) bool sets: per image
    (dim=1) or per tag (dim=0). A precision or recall over nothing is `empty`."""
    hits = (predicted & truth).sum(dim).float()
    shown, real = predicted.sum(dim).float(), truth.sum(dim).float()
    precision = torch.where(shown > 0, hits / shown.clamp(min=1), torch.full_like(hits, empty))
    recall = torch.where(real > 0, hits / real.clamp(min=1), torch.full_like(hits, empty))
    b2 = beta * beta
    denominator = b2 * precision + recall
    fbeta = torch.where(
        denominator > 0,
        (1 + b2) * precision * recall / denominator.clamp(min=1e-12),
        torch.zeros_like(hits),
    )
    return precision, recall, fbeta, real


def fbeta_samples(predicted: torch.Tensor, truth: torch.Tensor, beta: float) -> torch.Tensor:
    """Per-image F-beta of predicted against true tag sets, both (N, T) bool.

    An image with no true and no predicted tag scores 1 (sklearn's zero_division=1.0).
    """
    return _precision_recall_fbeta(predicted, truth, 1, beta, empty=1.0)[2]


def threshold_scores(
    probabilities: torch.Tensor, truth: torch.Tensor, threshold: float, beta: float
) -> dict[str, float]:
    """val_fbeta and val_accuracy_thresh at one threshold."""
    predicted = probabilities > threshold
    truth = truth.bool()
    return {
        "fbeta": fbeta_samples(predicted, truth, beta).mean().item(),
        "accuracy_thresh": (predicted == truth).float().mean().item(),
    }


def best_threshold(
    probabilities: torch.Tensor, truth: torch.Tensor, beta: float
) -> tuple[float, float]:
    """(threshold, F-beta) of the grid threshold with the highest F-beta; lowest on a tie."""
    scores = [
        (threshold_scores(probabilities, truth, t, beta)["fbeta"], -t) for t in THRESHOLD_GRID
    ]
    fbeta, negative = max(scores)
    return -negative, fbeta


def per_tag_scores(
    probabilities: torch.Tensor, truth: torch.Tensor, threshold: float, beta: float, tags: list[str]
) -> dict[str, dict[str, float]]:
    precision, recall, fbeta, real = _precision_recall_fbeta(
        probabilities > threshold, truth.bool(), 0, beta, empty=0.0
    )
    return {
        tag: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "fbeta": float(fbeta[i]),
            "support": int(real[i]),
        }
        for i, tag in enumerate(tags)
    }


def multilabel_metrics(
    probabilities: torch.Tensor,
    truth: torch.Tensor,
    tags: list[str],
    loss: float,
    threshold: float,
    beta: float,
    extra_thresholds: tuple[float, ...] = (),
) -> MultiLabelEvaluation:
    """Every score of one multi-label evaluation, at `threshold` and across the grid."""
    at = threshold_scores(probabilities, truth, threshold, beta)
    exact = ((probabilities > threshold) == truth.bool()).all(1).float().mean().item()
    grid = sorted({*THRESHOLD_GRID, threshold, *extra_thresholds})
    return MultiLabelEvaluation(
        loss=float(loss),
        fbeta=at["fbeta"],
        accuracy_thresh=at["accuracy_thresh"],
        exact_match=exact if len(truth) else 0.0,
        threshold=threshold,
        beta=beta,
        per_tag=per_tag_scores(probabilities, truth, threshold, beta, tags),
        at_thresholds={f"{t:g}": threshold_scores(probabilities, truth, t, beta) for t in grid},
        tags=list(tags),
        images=len(truth),
    )


def constant_baseline(
    train: torch.Tensor, test: torch.Tensor, tags: list[str], beta: float
) -> dict[str, Any]:
    """The tag set that, predicted for every image, scores best on `train`; its test F-beta.

    Candidates are the k most frequent tags of the training split, for every k (the usual
    constant baselines: "always the commonest tag", ..., "always every tag").
    """
    order = train.float().mean(0).argsort(descending=True)
    best: tuple[float, int] = (-1.0, 0)
    for k in range(1, len(tags) + 1):
        answer = torch.zeros(train.shape[1], dtype=torch.bool)
        answer[order[:k]] = True
        score = fbeta_samples(answer.expand(len(train), -1), train.bool(), beta).mean().item()
        best = max(best, (score, -k))
    chosen = order[: -best[1]]
    answer = torch.zeros(test.shape[1], dtype=torch.bool)
    answer[chosen] = True
    test_truth = test.bool()
    predicted = answer.expand(len(test), -1)
    return {
        "tags": [tags[i] for i in sorted(chosen.tolist())],
        "fbeta": fbeta_samples(predicted, test_truth, beta).mean().item() if len(test) else 0.0,
        "accuracy_thresh": (predicted == test_truth).float().mean().item() if len(test) else 0.0,
    }
