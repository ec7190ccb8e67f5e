"""Where images come from: each source yields labelled pools, the split happens in `data`.

A source returns `{"all": pool}` when it has no split of its own, or `{"train": ..., "test": ...}`
(and maybe "val") when it does: a torchvision dataset's official test set, an imagefolder with
train/ val/ test/ subfolders.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainable.config import (
    DataConfig,
    DigitsData,
    FakeData,
    ImageFolderData,
    MultiLabelData,
    TorchvisionData,
)
from trainable.errors import DataError, did_you_mean, shown_path
from trainable.images import DatasetImages, FileImages, Images, TensorImages, to_square
from trainable.tags import read_tags_csv

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
SPLIT_FOLDERS = ("train", "val", "test")


@dataclass(frozen=True)
class Pool:
    images: Images
    labels: np.ndarray  # (N,) class indices, or (N, tags) 0/1 for multi-label data


def read(cfg: DataConfig) -> tuple[dict[str, Pool], list[str], list[str]]:
    """(pools, class names, notes) for any source."""
    if isinstance(cfg, DigitsData):
        return _digits(cfg), [str(d) for d in range(10)], []
    if isinstance(cfg, FakeData):
        return _fake(cfg), [f"class_{i}" for i in range(cfg.classes)], []
    if isinstance(cfg, ImageFolderData):
        return _imagefolder(cfg)
    if isinstance(cfg, MultiLabelData):
        return _multilabel(cfg)
    return _torchvision(cfg)


def _multilabel(cfg: MultiLabelData) -> tuple[dict[str, Pool], list[str], list[str]]:

    paths, labels, tags = read_tags_csv(
        cfg.labels.expanduser(),
        cfg.root.expanduser(),
        IMAGE_EXTENSIONS,
        cfg.tags,
        cfg.every_image_tagged,
    )
    return {"all": Pool(FileImages(paths, cfg.image_size), labels)}, tags, []


def _digits(cfg: DigitsData) -> dict[str, Pool]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    # 0..16 intensities -> uint8, upsampled from 8x8 as a batch.
    pixels = torch.as_tensor(digits.images * (255 / 16)).round().to(torch.uint8)[:, None]
    return {"all": Pool(TensorImages(to_square(pixels, cfg.image_size)), digits.target)}


def _fake(cfg: FakeData) -> dict[str, Pool]:
    from torchvision.datasets import FakeData as TorchFake

    fake = TorchFake(
        cfg.samples,
        (3, cfg.image_size, cfg.image_size),
        cfg.classes,
        None,
        None,
        random_offset=cfg.seed,
    )
    images = torch.stack([to_square(fake[i][0], cfg.image_size) for i in range(cfg.samples)])
    # Balanced labels in shuffled order: FakeData's own random labels can leave a class empty.
    labels = np.random.default_rng(cfg.seed).permutation(np.arange(cfg.samples) % cfg.classes)
    return {"all": Pool(TensorImages(images), labels)}


def _imagefolder(cfg: ImageFolderData) -> tuple[dict[str, Pool], list[str], list[str]]:
    root = cfg.root.expanduser()
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise DataError(
            f"data.root {shown_path(root)} {what}; point it at a folder of class folders"
        )
    notes: list[str] = []
    folders = _subfolders(root, notes)
    presplit = bool(folders) and "train" in folders and set(folders) <= set(SPLIT_FOLDERS)
    if not presplit:
        classes = _class_names(root, folders)
        return {"all": _scan(root, classes, cfg, notes)}, classes, notes
    classes = _class_names(root / "train", _subfolders(root / "train"))
    pools = {}
    for name in folders:
        unknown = sorted(set(_subfolders(root / name)) - set(classes))
        if unknown:
            raise DataError(
                f"{root / name / unknown[0]} is a class that {root / 'train'} does not have; "
                "every class in val/ and test/ needs a folder in train/ too"
            )
        pools[name] = _scan(root / name, classes, cfg, notes, required=name == "train")
    return pools, classes, notes


def _subfolders(folder: Path, notes: list[str] | None = None) -> list[str]:
    """The class (or split) folders: hidden ones and links back into the tree left out (a
    `loop -> .` link would be a class holding every image again, under the wrong label)."""
    names = []
    for path in sorted(folder.iterdir()):
        if not path.is_dir() or path.name.startswith("."):
            continue
        if path.is_symlink() and _loops(path, folder):
            if notes is not None:
                notes.append(f"skipped {path}: a link back to {path.resolve()}, not a class")
            continue
        names.append(path.name)
    return names


def _loops(link: Path, folder: Path) -> bool:
    """A link to `folder` itself, to a folder above it, or to one inside it."""
    target, here = link.resolve(), folder.resolve()
    return target == here or target in here.parents or here in target.parents


def _class_names(root: Path, folders: list[str]) -> list[str]:
    if not folders:
        raise DataError(
            f"data.root {root} has no class folders; put each class's images in a folder "
            "named after the class (root/cat/1.jpg, root/dog/2.jpg)"
        )
    if len(folders) == 1:
        raise DataError(
            f"data.root {root} has one class folder ({folders[0]}); a classifier needs at least 2"
        )
    return folders


def _scan(
    root: Path, classes: list[str], cfg: ImageFolderData, notes: list[str], required: bool = True
) -> Pool:
    """Image files under root/<class>/ (any depth); other files are counted and skipped."""
    paths: list[Path] = []
    labels: list[int] = []
    skipped: list[str] = []
    for label, name in enumerate(classes):
        folder = root / name
        files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
        images = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
        skipped += [str(p) for p in files if p.suffix.lower() not in IMAGE_EXTENSIONS]
        if not images and required:
            raise DataError(
                f"class folder {folder} has no images ({' '.join(IMAGE_EXTENSIONS)}); "
                "add images or remove the folder"
            )
        paths += images
        labels += [label] * len(images)
    if skipped:
        notes.append(
            f"skipped {len(skipped)} files that are not images under {root}, e.g. {skipped[0]}"
        )
    return Pool(FileImages(paths, cfg.image_size), np.asarray(labels, dtype=np.int64))


def _torchvision(cfg: TorchvisionData) -> tuple[dict[str, Pool], list[str], list[str]]:
    import torchvision.datasets as tvd

    names = [
        n for n, c in vars(tvd).items() if inspect.isclass(c) and issubclass(c, tvd.VisionDataset)
    ]
    if cfg.dataset not in names:
        hint = did_you_mean(cfg.dataset, names, "see torchvision.datasets", n=3, cutoff=0.5)
        raise DataError(f"data.dataset {cfg.dataset!r} is not a torchvision dataset; {hint}")
    root = cfg.root.expanduser()
    if not root.is_dir() and not cfg.download:
        raise DataError(
            f"data.root {shown_path(root)} does not exist; put the {cfg.dataset} files there "
            "or set data.download: true"
        )
    cls = getattr(tvd, cfg.dataset)
    params = inspect.signature(cls).parameters
    if "train" in params:
        parts = {"train": {"train": True}, "test": {"train": False}}
    elif "split" in params:
        parts = {"train": {"split": "train"}, "test": {"split": "test"}}
    else:
        parts = {"all": {}}
    pools, classes = {}, []
    for name, kwargs in parts.items():
        dataset = _open(cls, cfg, kwargs)
        labels = _labels(dataset)
        pools[name] = Pool(DatasetImages(dataset, range(len(labels)), cfg.image_size), labels)
        classes = classes or [str(c) for c in getattr(dataset, "classes", [])]
    count = int(max(p.labels.max() for p in pools.values())) + 1
    if len(classes) != count:
        classes = [str(i) for i in range(count)]
    return pools, classes, []


def _open(cls: Any, cfg: TorchvisionData, kwargs: dict[str, Any]) -> Any:
    if "download" in inspect.signature(cls).parameters:
        kwargs = {**kwargs, "download": cfg.download}
    try:
        return cls(root=str(cfg.root.expanduser()), **kwargs)
    except Exception as exc:  # torchvision raises RuntimeError, URLError, OSError, ...
        fix = "check the network" if cfg.download else "set data.download: true (needs a network)"
        raise DataError(
            f"cannot load torchvision {cfg.dataset} from {cfg.root}: {exc}; {fix}"
        ) from exc


def _labels(dataset: Any) -> np.ndarray:
    for attribute in ("targets", "labels", "_labels"):
        labels = getattr(dataset, attribute, None)
        if labels is not None and len(labels) == len(dataset):
            return np.asarray(labels, dtype=np.int64)
    return np.asarray([int(dataset[i][1]) for i in range(len(dataset))], dtype=np.int64)
