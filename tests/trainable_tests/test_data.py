from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from trainable import DataError, DigitsData, FakeData, ImageFolderData, TorchvisionData, prepare
from trainable.data import Split, stratified_indices
from trainable.images import FileImages, TensorImages


def pixels(split: Split) -> torch.Tensor:
    return torch.stack([split.images.load(i) for i in range(len(split))])


def row_keys(split: Split) -> set[bytes]:
    return {bytes(image.numpy().tobytes()) for image in pixels(split)}


@pytest.fixture(scope="module")
def digits() -> object:
    return prepare(DigitsData(image_size=16, seed=3))


def test_digits_split_sizes_follow_the_fractions(digits) -> None:
    sizes = [len(digits.train), len(digits.val), len(digits.test)]
    assert sum(sizes) == 1797
    assert sizes[1] == pytest.approx(0.2 * 1797, abs=2)
    assert sizes[2] == pytest.approx(0.2 * 1797, abs=2)


def test_splits_are_disjoint() -> None:
    splits = prepare(FakeData(source="fake", samples=90, classes=3, image_size=8))
    train, val, test = (row_keys(s) for s in (splits.train, splits.val, splits.test))
    assert len(train) + len(val) + len(test) == 90  # random images: all distinct
    assert train.isdisjoint(val) and train.isdisjoint(test) and val.isdisjoint(test)


def test_split_indices_are_disjoint_stratified_and_reproducible() -> None:
    labels = np.repeat(np.arange(4), [100, 50, 30, 20])
    keep, carved = stratified_indices(labels, 0.2, 7, list("abcd"), "test")
    assert set(keep).isdisjoint(carved) and len(keep) + len(carved) == 200
    assert Counter(labels[carved].tolist()) == {0: 20, 1: 10, 2: 6, 3: 4}
    again = stratified_indices(labels, 0.2, 7, list("abcd"), "test")
    assert np.array_equal(carved, again[1])
    other = stratified_indices(labels, 0.2, 8, list("abcd"), "test")
    assert not np.array_equal(carved, other[1])


def test_same_seed_same_split_other_seed_other_split() -> None:
    a = prepare(DigitsData(image_size=8, seed=1))
    b = prepare(DigitsData(image_size=8, seed=1))
    c = prepare(DigitsData(image_size=8, seed=2))
    assert torch.equal(a.test.labels, b.test.labels) and torch.equal(pixels(a.test), pixels(b.test))
    assert not torch.equal(pixels(a.test), pixels(c.test))


def test_every_split_has_the_class_proportions(digits) -> None:
    for split in (digits.train, digits.val, digits.test):
        share = split.class_counts(10).float() / len(split)
        assert share.min() > 0.08 and share.max() < 0.12


def test_images_are_three_channel_uint8_squares(digits) -> None:
    image = digits.train.images.load(0)
    assert image.shape == (3, 16, 16) and image.dtype == torch.uint8
    assert torch.equal(image[0], image[1])  # grayscale copied to 3 channels
    assert isinstance(digits.train.images, TensorImages)


def test_refit_merges_train_and_val_and_keeps_test(digits) -> None:
    refit = digits.for_refit()
    assert refit.val is None
    assert len(refit.train) == len(digits.train) + len(digits.val)
    assert refit.test is digits.test


def test_imagefolder_class_per_folder(image_tree: Callable[..., Path]) -> None:
    root = image_tree({"cat": 10, "dog": 10, "owl": 10})
    splits = prepare(ImageFolderData(source="imagefolder", root=root, image_size=8))
    assert splits.classes == ("cat", "dog", "owl")
    assert [len(splits.train), len(splits.val), len(splits.test)] == [18, 6, 6]
    assert all(int(c) > 0 for c in splits.test.class_counts(3))


def test_imagefolder_with_split_folders_is_used_as_given(image_tree: Callable[..., Path]) -> None:
    root = image_tree({"cat": 4, "dog": 4}, splits=("train", "val", "test"))
    splits = prepare(ImageFolderData(source="imagefolder", root=root, image_size=8))
    assert [len(splits.train), len(splits.val), len(splits.test)] == [8, 8, 8]
    assert splits.classes == ("cat", "dog")


def test_imagefolder_without_val_folder_carves_val_from_train(
    image_tree: Callable[..., Path],
) -> None:
    root = image_tree({"cat": 10, "dog": 10}, splits=("train", "test"))
    splits = prepare(ImageFolderData(source="imagefolder", root=root, image_size=8))
    assert len(splits.test) == 20 and len(splits.train) + len(splits.val) == 20
    assert len(splits.val) == 4


def test_large_folders_stay_on_disk(image_tree: Callable[..., Path]) -> None:
    root = image_tree()
    splits = prepare(
        ImageFolderData(source="imagefolder", root=root, image_size=8, in_memory_mib=0)
    )
    assert isinstance(splits.train.images, FileImages)
    assert splits.train.images.load(0).shape == (3, 8, 8)
    assert any("decoding files every epoch" in note for note in splits.notes)


def test_missing_root_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=f"data.root {tmp_path / 'nope'} does not exist"):
        prepare(ImageFolderData(source="imagefolder", root=tmp_path / "nope"))


def test_empty_class_folder_is_named(image_tree: Callable[..., Path]) -> None:
    root = image_tree()
    (root / "empty").mkdir()
    with pytest.raises(DataError, match=f"class folder {root / 'empty'} has no images"):
        prepare(ImageFolderData(source="imagefolder", root=root))


def test_single_class_is_an_error(image_tree: Callable[..., Path]) -> None:
    root = image_tree({"only": 6})
    with pytest.raises(DataError, match=r"one class folder .only.; a classifier needs at least 2"):
        prepare(ImageFolderData(source="imagefolder", root=root))


def test_non_images_are_skipped_and_counted(image_tree: Callable[..., Path]) -> None:
    root = image_tree()
    (root / "red" / "notes.txt").write_text("not an image")
    splits = prepare(ImageFolderData(source="imagefolder", root=root, image_size=8))
    assert len(splits.train) + len(splits.val) + len(splits.test) == 18
    assert any("skipped 1 files that are not images" in note for note in splits.notes)


@pytest.mark.parametrize("in_memory_mib", [2048, 0])
def test_corrupt_image_is_skipped_with_a_note(
    image_tree: Callable[..., Path], in_memory_mib: int
) -> None:
    root = image_tree({"a": 7, "b": 6})
    (root / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    splits = prepare(
        ImageFolderData(source="imagefolder", root=root, image_size=8, in_memory_mib=in_memory_mib)
    )
    assert len(splits.train) + len(splits.val) + len(splits.test) == 13
    assert any("skipped 1 unreadable image," in n and "broken.png" in n for n in splits.notes)


def test_corrupt_image_is_an_error_when_asked(image_tree: Callable[..., Path]) -> None:
    root = image_tree()
    (root / "red" / "broken.jpg").write_bytes(b"")
    with pytest.raises(DataError, match=r"cannot read image .*broken\.jpg.*on_bad_file: skip"):
        prepare(ImageFolderData(source="imagefolder", root=root, on_bad_file="error"))


def test_too_small_fraction_says_which_and_how(image_tree: Callable[..., Path]) -> None:
    with pytest.raises(
        DataError,
        match=r"data.test_fraction=0.001 of 1797 images gives 2 test "
        r"images for 10 classes.*raise test_fraction",
    ):
        prepare(DigitsData(test_fraction=0.001))


def test_class_with_too_few_images_is_named(image_tree: Callable[..., Path]) -> None:
    root = image_tree({"big": 10, "tiny": 2})
    with pytest.raises(DataError, match="class 'tiny' has 2 images; each class needs at least 3"):
        prepare(ImageFolderData(source="imagefolder", root=root))


def test_fake_data_is_balanced_and_seeded() -> None:
    a = prepare(FakeData(source="fake", samples=30, classes=3, image_size=8))
    assert a.train.class_counts(3).tolist() == [6, 6, 6]


def test_unknown_torchvision_dataset_suggests_names(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="did you mean CIFAR10"):
        prepare(TorchvisionData(source="torchvision", dataset="CIFAR1O", root=tmp_path))


def test_torchvision_dataset_missing_files_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"cannot load torchvision CIFAR10 .*download: true"):
        prepare(TorchvisionData(source="torchvision", dataset="CIFAR10", root=tmp_path))


def write_mnist(root: Path, train: int, test: int) -> None:
    """MNIST's raw idx files, tiny: torchvision's own MNIST class reads them."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, count in (("train", train), ("t10k", test)):
        images = rng.integers(0, 255, size=(count, 28, 28), dtype=np.uint8)
        labels = (np.arange(count) % 10).astype(np.uint8)
        header = np.array([2051, count, 28, 28], dtype=">i4").tobytes()
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(header + images.tobytes())
        header = np.array([2049, count], dtype=">i4").tobytes()
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(header + labels.tobytes())


def test_torchvision_dataset_uses_its_official_test_split(tmp_path: Path) -> None:
    write_mnist(tmp_path, train=50, test=20)
    splits = prepare(
        TorchvisionData(
            source="torchvision", dataset="MNIST", root=tmp_path, image_size=8, val_fraction=0.2
        )
    )
    assert len(splits.test) == 20  # MNIST's own test set, not carved from train
    assert [len(splits.train), len(splits.val)] == [40, 10]
    assert splits.classes[0].startswith("0") and splits.train.images.load(0).shape == (3, 8, 8)


def test_torchvision_dataset_without_splits_is_split_by_fraction(tmp_path: Path) -> None:
    """A torchvision class with neither `train` nor `split` (ImageFolder), from written files."""
    from PIL import Image

    for split, count in (("train", 9), ("test", 4)):
        for label in ("a", "b"):
            folder = tmp_path / split / label
            folder.mkdir(parents=True)
            for i in range(count):
                Image.new("RGB", (6, 6), (i * 20, 0, 0)).save(folder / f"{i}.png")
    # ImageFolder has neither train nor split: the whole tree is one pool, split by fraction.
    splits = prepare(
        TorchvisionData(
            source="torchvision", dataset="ImageFolder", root=tmp_path / "train", image_size=8
        )
    )
    assert (
        splits.classes == ("a", "b")
        and len(splits.train) + len(splits.val) + len(splits.test) == 18
    )


def test_reshuffled_splits_draw_train_and_val_again_and_keep_test(digits) -> None:
    other = digits.reshuffled(7)
    assert [len(other.train), len(other.val)] == [len(digits.train), len(digits.val)]
    assert torch.equal(pixels(other.test), pixels(digits.test))  # the test split never moves
    pool = row_keys(digits.train) | row_keys(digits.val)
    assert row_keys(other.train) | row_keys(other.val) == pool
    assert not row_keys(other.train) & row_keys(other.val)
    assert row_keys(other.val) != row_keys(digits.val)
    counts = [Counter(s.labels.tolist()) for s in (digits.val, other.val)]
    assert all(abs(counts[0][c] - counts[1][c]) <= 1 for c in range(10))  # stratified
    assert row_keys(digits.reshuffled(7).val) == row_keys(other.val)  # by seed
    assert digits.carved_val


def test_a_validation_split_given_as_a_folder_is_never_reshuffled(
    image_tree: Callable[..., Path],
) -> None:
    root = image_tree({"cat": 4, "dog": 4}, splits=("train", "val", "test"))
    splits = prepare(ImageFolderData(source="imagefolder", root=root, image_size=8))
    assert not splits.carved_val and splits.reshuffled(5) is splits


def test_16_bit_and_palette_pngs_keep_their_pictures(tmp_path) -> None:
    """Pillow's RGB conversion clips 16-bit grey to white: a dataset of such PNGs would train on
    identical images at chance, with no word."""
    import numpy as np
    from PIL import Image

    from trainable.images import read_image

    ramp = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "grey16.png")
    assert Image.open(tmp_path / "grey16.png").mode == "I;16"
    grey = read_image(tmp_path / "grey16.png", 64).float()
    assert grey.std() > 60 and 120 < grey.mean() < 135  # a ramp from black to white
    assert grey[0, 0, 0] < 5 and grey[0, -1, -1] > 250
    indices = (np.arange(64 * 64).reshape(64, 64) // 1024).astype(np.uint8)  # 4 bands
    palette = Image.fromarray(indices, mode="P")
    palette.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0] + [0] * 756)
    palette.info["transparency"] = 3
    palette.save(tmp_path / "palette.png")
    colours = read_image(tmp_path / "palette.png", 64)
    assert colours[:, 0, 0].tolist() == [255, 0, 0] and colours[:, 63, 0].tolist() == [255, 255, 0]


@pytest.mark.parametrize(
    ("mode", "top"), [("I", 65535.0), ("I", 4_000_000.0), ("F", 1.0), ("F", 500.0)]
)
def test_32_bit_grey_tiffs_keep_their_pictures(tmp_path, mode: str, top: float) -> None:
    """32-bit integer and float grey (scientific and medical TIFFs) read as a ramp from black
    to white, whatever their range, not clipped to white as Pillow's RGB conversion does."""
    import numpy as np
    from PIL import Image

    from trainable.images import read_image

    ramp = np.linspace(0, top, 64 * 64).reshape(64, 64)
    wide = Image.fromarray(ramp.astype(np.int32 if mode == "I" else np.float32), mode=mode)
    wide.save(tmp_path / "grey32.tif")
    assert Image.open(tmp_path / "grey32.tif").mode == mode
    grey = read_image(tmp_path / "grey32.tif", 64).float()
    assert grey.std() > 60 and 120 < grey.mean() < 135
    assert grey[0, 0, 0] < 5 and grey[0, -1, -1] > 250


def test_a_link_back_into_the_data_folder_is_no_class(tmp_path) -> None:
    """`loop -> .` at the data root: a class of its own holding every image again, under the
    wrong label, unless it is left out (and said so)."""
    from PIL import Image

    from trainable import ImageFolderData, prepare

    root = tmp_path / "photos"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(root / name / f"{i}.png")
    (root / "loop").symlink_to(".")
    (root / "cat" / "back").symlink_to("..")
    splits = prepare(
        ImageFolderData(
            source="imagefolder", root=root, image_size=8, val_fraction=0.25, test_fraction=0.25
        )
    )
    assert list(splits.classes) == ["cat", "dog"]
    assert len(splits.train) + len(splits.val) + len(splits.test) == 12
    assert any(f"skipped {root / 'loop'}: a link back to" in note for note in splits.notes)


def test_one_image_is_one_image(tmp_path) -> None:
    from PIL import Image

    from trainable import DataError, ImageFolderData, counted, prepare

    assert (counted(1, "image"), counted(2, "image"), counted(0, "image")) == (
        "1 image",
        "2 images",
        "0 images",
    )
    for name, n in (("cat", 6), ("dog", 1)):
        (tmp_path / name).mkdir()
        for i in range(n):
            Image.new("RGB", (8, 8)).save(tmp_path / name / f"{i}.png")
    with pytest.raises(DataError, match=r"class 'dog' has 1 image; each class needs"):
        prepare(ImageFolderData(source="imagefolder", root=tmp_path, image_size=8))
