"""Multi-label data: the tags CSV (both layouts, every bad row) and the split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from trainable import DataError, MultiLabelData, prepare
from trainable.sources import IMAGE_EXTENSIONS
from trainable.tags import iterative_split, read_tags_csv


def _images(root: Path, names: list[str]) -> Path:
    """Tiny image files; a name may carry a folder and its extension (a/b.png)."""
    rng = np.random.default_rng(0)
    for name in names:
        path = root / (name if Path(name).suffix else f"{name}.jpg")
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(path)
    return root


def _csv(path: Path, text: str) -> Path:
    path.write_text(text.lstrip())
    return path


def _read(root: Path, labels: Path, **kwargs) -> tuple[list[Path], np.ndarray, list[str]]:
    return read_tags_csv(labels, root, IMAGE_EXTENSIONS, **kwargs)


def test_planet_csv_names_images_without_extension_and_tags_by_spaces(tmp_path: Path) -> None:
    root = _images(tmp_path / "img", ["train_0", "train_1", "sub/train_2.png"])
    labels = _csv(
        tmp_path / "train_v2.csv",
        """
image_name,tags
train_0,haze primary
train_1,agriculture clear primary water
train_2,clear
""",
    )
    paths, matrix, tags = _read(root, labels)
    assert tags == ["agriculture", "clear", "haze", "primary", "water"]
    assert [p.name for p in paths] == ["train_0.jpg", "train_1.jpg", "train_2.png"]
    assert matrix.tolist() == [[0, 0, 1, 1, 0], [1, 1, 0, 1, 1], [0, 1, 0, 0, 0]]


def test_one_column_per_tag_csv_in_the_studys_tag_order(tmp_path: Path) -> None:
    root = _images(tmp_path / "img", ["a", "b"])
    labels = _csv(tmp_path / "tags.csv", "image,water,sky\na.jpg,1,0\nb,1,1\n")
    _, matrix, tags = _read(root, labels)
    assert tags == ["water", "sky"] and matrix.tolist() == [[1, 0], [1, 1]]
    _, matrix, tags = _read(root, labels, tags=["sky", "water"])
    assert tags == ["sky", "water"] and matrix.tolist() == [[0, 1], [1, 1]]


@pytest.mark.parametrize(
    ("text", "kwargs", "expected"),
    [
        (
            "image_name,tags\na,sky\nmissing,sky water\n",
            {},
            r"tags.csv line 3: image 'missing' has no file under .*img",
        ),
        (
            "image_name,tags\na,sky\nb,sky clouds\n",
            {"tags": ["sky", "water"]},
            r"tags.csv line 3: tag 'clouds' is not one of data.tags",
        ),
        (
            "image,sky,clouds\na,1,0\nb,0,1\n",
            {"tags": ["sky", "water"]},
            r"tags.csv line 1: column 'clouds' is not one of data.tags",
        ),
        (
            "image_name,tags\na,sky water\nb,\n",
            {},
            r"tags.csv line 3: image 'b' has no tag; tag it, or set data.every_image_tagged",
        ),
        (
            "image,sky,water\na,1,0\nb,yes please,1\n",
            {},
            r"tags.csv line 3: column 'sky' is 'yes please'; a tag column holds 1 or 0",
        ),
        (
            "image_name,tags\na,sky water\nb,sky,water\n",
            {},
            r"tags.csv line 3: 3 cells where the header has 2",
        ),
        (
            "image_name,tags\na,sky water\na.jpg,sky\n",
            {},
            r"tags.csv line 3: image a.jpg is already on line 2",
        ),
        (
            "image_name,tags\na,sky\nb,sky\n",
            {},
            r"tags.csv names 1 tag; multi-label data needs at least 2",
        ),
        (
            "image,sky,water\na,1,0\nb,1,0\n",
            {},
            r"no image has tag 'water'",
        ),
    ],
)
def test_each_bad_row_is_one_line_naming_the_row_and_the_file(
    tmp_path: Path, text: str, kwargs: dict, expected: str
) -> None:
    root = _images(tmp_path / "img", ["a", "b"])
    with pytest.raises(DataError, match=expected) as raised:
        _read(root, _csv(tmp_path / "tags.csv", text), **kwargs)
    assert "\n" not in str(raised.value)


def test_an_untagged_image_is_allowed_when_the_study_says_so(tmp_path: Path) -> None:
    root = _images(tmp_path / "img", ["a", "b", "c"])
    labels = _csv(tmp_path / "tags.csv", "image_name,tags\na,sky\nb,\nc,water\n")
    _, matrix, _ = _read(root, labels, every_image_tagged=False)
    assert matrix.tolist() == [[1, 0], [0, 0], [0, 1]]


def test_a_name_matching_two_files_asks_for_the_extension(tmp_path: Path) -> None:
    root = _images(tmp_path / "img", ["a.jpg", "a.png", "b"])
    labels = _csv(tmp_path / "tags.csv", "image_name,tags\na,sky\nb,water\n")
    with pytest.raises(DataError, match=r"line 2: image 'a' matches 2 files"):
        _read(root, labels)
    _read(root, _csv(tmp_path / "tags.csv", "image_name,tags\na.png,sky\nb,water\n"))


def _tag_matrix(counts: list[int], n: int, seed: int = 0) -> np.ndarray:
    """n images; tag t on counts[t] of them at random, and every image has a tag."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((n, len(counts)), dtype=np.uint8)
    for tag, count in enumerate(counts):
        labels[rng.choice(n, count, replace=False), tag] = 1
    labels[labels.sum(1) == 0, 0] = 1
    return labels


def test_the_split_puts_every_tag_in_every_split_where_counts_allow() -> None:
    # Tags of 3, 4 and 5 images: a 60/20/20 split by proportion alone leaves val or test
    # without them; iterative stratification with one-per-split first does not.
    labels = _tag_matrix([300, 120, 40, 3, 4, 5], 400)
    parts = iterative_split(labels, (0.6, 0.2, 0.2), seed=0)
    assert sorted(np.concatenate(parts).tolist()) == list(range(400))  # disjoint, complete
    for part in parts:
        assert labels[part].sum(0).min() >= 1
    assert [len(p) for p in parts] == pytest.approx([240, 80, 80], abs=4)
    for tag in (0, 1, 2):  # common tags follow the fractions
        share = labels[parts[0], tag].sum() / labels[:, tag].sum()
        assert share == pytest.approx(0.6, abs=0.05)
    again = iterative_split(labels, (0.6, 0.2, 0.2), seed=0)
    other = iterative_split(labels, (0.6, 0.2, 0.2), seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(parts, other, strict=True))


def test_prepare_reads_a_multilabel_folder_and_notes_tags_too_rare_to_split(
    tmp_path: Path,
) -> None:
    names = [f"im{i}" for i in range(40)]
    root = _images(tmp_path / "img", names)
    rows = [
        f"{n},{'sky' if i % 2 else 'water'}{' moon' if i < 2 else ''}" for i, n in enumerate(names)
    ]
    labels = _csv(tmp_path / "tags.csv", "image_name,tags\n" + "\n".join(rows) + "\n")
    splits = prepare(MultiLabelData(source="multilabel", root=root, labels=labels, image_size=16))
    assert splits.multilabel and splits.classes == ("moon", "sky", "water")
    assert len(splits.train) + len(splits.val) + len(splits.test) == 40
    assert splits.train.labels.shape[1] == 3 and splits.train.labels.dtype == torch.uint8
    assert any("tag 'moon' has 2 images, too few for every split" in n for n in splits.notes)
    refit = splits.for_refit()
    assert refit.train.labels.shape == (len(splits.train) + len(splits.val), 3)
