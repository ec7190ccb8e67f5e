from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from trainable.metrics import (
    THRESHOLD_GRID,
    best_threshold,
    classification_metrics,
    constant_baseline,
    multilabel_metrics,
    per_tag_scores,
    threshold_scores,
)


def test_metrics_of_a_known_confusion() -> None:
    predicted = np.array([0, 0, 1, 1, 2])
    truth = np.array([0, 1, 1, 1, 2])
    result = classification_metrics(predicted, truth, ["a", "b", "c"], loss=0.5)
    assert result.accuracy == pytest.approx(0.8)
    assert result.per_class["a"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}
    )
    assert result.per_class["b"]["recall"] == pytest.approx(2 / 3)
    assert result.confusion_matrix == [[1, 0, 0], [1, 2, 0], [0, 0, 1]]
    assert result.macro_f1 == pytest.approx((2 / 3 + 0.8 + 1.0) / 3)


def test_macro_f1_ignores_classes_absent_from_the_split() -> None:
    result = classification_metrics(np.array([0, 1]), np.array([0, 1]), ["a", "b", "c"], loss=0.0)
    assert result.macro_f1 == 1.0 and result.per_class["c"]["support"] == 0


def test_evaluation_is_json_serialisable() -> None:
    result = classification_metrics(np.array([0]), np.array([0]), ["a", "b"], loss=0.1)
    assert json.loads(json.dumps(result.to_dict()))["accuracy"] == 1.0


def _random_tags(seed: int, n: int = 200, tags: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """Probabilities and truths that agree more often than not, with some empty rows."""
    generator = torch.Generator().manual_seed(seed)
    truth = (torch.rand(n, tags, generator=generator) < 0.3).to(torch.uint8)
    noise = torch.rand(n, tags, generator=generator)
    probabilities = (0.5 * truth + 0.7 * noise).clamp(0, 1)
    return probabilities, truth


@pytest.mark.parametrize(("beta", "threshold"), [(2.0, 0.2), (1.0, 0.5), (0.5, 0.35)])
def test_fbeta_matches_scikit_learns_samples_average(beta: float, threshold: float) -> None:
    from sklearn.metrics import fbeta_score

    probabilities, truth = _random_tags(seed=int(beta * 10))
    ours = threshold_scores(probabilities, truth, threshold, beta)["fbeta"]
    predicted = (probabilities > threshold).numpy()
    theirs = fbeta_score(truth.numpy(), predicted, beta=beta, average="samples", zero_division=1.0)
    assert ours == pytest.approx(theirs, abs=1e-6)
    assert 0.2 < ours < 0.99  # neither trivially perfect nor empty


def test_thresholded_accuracy_is_the_share_of_right_image_tag_pairs() -> None:
    from sklearn.metrics import hamming_loss

    probabilities, truth = _random_tags(seed=3)
    ours = threshold_scores(probabilities, truth, 0.2, 2.0)["accuracy_thresh"]
    assert ours == pytest.approx(1 - hamming_loss(truth.numpy(), (probabilities > 0.2).numpy()))
    hand = torch.tensor([[0.9, 0.1, 0.3]]), torch.tensor([[1, 0, 0]], dtype=torch.uint8)
    assert threshold_scores(*hand, 0.2, 2.0)["accuracy_thresh"] == pytest.approx(2 / 3)
    assert threshold_scores(*hand, 0.5, 2.0)["accuracy_thresh"] == 1.0


def test_per_tag_scores_match_scikit_learn() -> None:
    from sklearn.metrics import precision_recall_fscore_support

    probabilities, truth = _random_tags(seed=4)
    tags = [f"t{i}" for i in range(6)]
    ours = per_tag_scores(probabilities, truth, 0.4, 2.0, tags)
    precision, recall, fbeta, support = precision_recall_fscore_support(
        truth.numpy(), (probabilities > 0.4).numpy(), beta=2.0, zero_division=0
    )
    for i, tag in enumerate(tags):
        assert ours[tag]["precision"] == pytest.approx(precision[i])
        assert ours[tag]["recall"] == pytest.approx(recall[i])
        assert ours[tag]["fbeta"] == pytest.approx(fbeta[i], abs=1e-6)
        assert ours[tag]["support"] == support[i]


def test_best_threshold_is_the_grid_point_with_the_highest_fbeta() -> None:
    probabilities, truth = _random_tags(seed=5)
    chosen, score = best_threshold(probabilities, truth, 2.0)
    grid = {t: threshold_scores(probabilities, truth, t, 2.0)["fbeta"] for t in THRESHOLD_GRID}
    assert score == pytest.approx(max(grid.values())) and grid[chosen] == pytest.approx(score)


def test_multilabel_evaluation_scores_at_its_threshold_and_the_extra_ones() -> None:
    probabilities, truth = _random_tags(seed=6)
    result = multilabel_metrics(
        probabilities, truth, [f"t{i}" for i in range(6)], 0.3, 0.25, 2.0, (0.333,)
    )
    assert result.fbeta == pytest.approx(threshold_scores(probabilities, truth, 0.25, 2.0)["fbeta"])
    assert {"0.25", "0.333", "0.05", "0.95"} <= set(result.at_thresholds)
    exact = ((probabilities > 0.25) == truth.bool()).all(1).float().mean().item()
    assert result.exact_match == pytest.approx(exact)
    json.dumps(result.to_dict())


def test_the_constant_baseline_is_chosen_on_train_and_scored_on_test() -> None:
    train = torch.tensor([[1, 0, 0]] * 8 + [[1, 1, 0]] * 2, dtype=torch.uint8)
    test = torch.tensor([[0, 1, 0]] * 4, dtype=torch.uint8)
    baseline = constant_baseline(train, test, ["a", "b", "c"], beta=2.0)
    assert baseline["tags"] == ["a"]  # "a" alone is best on train
    assert baseline["fbeta"] == 0.0 and baseline["accuracy_thresh"] == pytest.approx(1 / 3)
