"""Settings that only single-label or only multi-label data has are refused on the other kind."""

from __future__ import annotations

import pytest

from search.errors import StudySpecError
from search.study.spec import parse_study_spec
from tests.search_tests.helpers import tiny_study

TAGS = {"source": "multilabel", "root": "images", "labels": "tags.csv"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"search": {"metric": "val_fbeta"}},
            "search.metric val_fbeta needs multi-label data (data.source: multilabel)",
        ),
        ({"fixed": {"threshold": 0.3}}, "fixed.threshold only applies to multi-label data"),
        (
            {"data": TAGS, "search": {"metric": "val_accuracy"}},
            "search.metric val_accuracy is for single-label data; a multilabel study is judged "
            "by val_fbeta, val_accuracy_thresh or val_loss",
        ),
        (
            {"data": TAGS, "space": {"beta": {"type": "float", "low": 1, "high": 2}}},
            "space.beta: beta defines val_fbeta",
        ),
        (
            {
                "data": TAGS,
                "space": {"balance": {"type": "categorical", "choices": ["none", "undersample"]}},
            },
            "space.balance undersample draws images by class",
        ),
    ],
)
def test_a_setting_of_the_other_kind_of_data_is_one_line(change: dict, message: str) -> None:
    with pytest.raises(StudySpecError, match=r"^s\.yaml: ") as exc:
        parse_study_spec(tiny_study(**change), source="s.yaml")
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_a_multilabel_study_takes_the_tag_metrics_with_their_modes() -> None:
    for metric in ("val_fbeta", "val_accuracy_thresh"):
        spec = parse_study_spec(
            tiny_study(
                data=TAGS,
                search={"metric": metric},
                space={"threshold": {"type": "float", "low": 0.1, "high": 0.5}},
                fixed={"beta": 1, "balance": "weighted_loss"},
            )
        )
        assert spec.multilabel and spec.search.direction == "max"
        assert spec.train_config({"threshold": 0.3}).threshold == 0.3
