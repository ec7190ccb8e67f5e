"""Prepare a study's data once: read the source, split train/val/test by seed, keep it shared.

`prepare(cfg)` returns `Splits`. The split is stratified and fixed by `cfg.seed`, so every trial
and the final refit see the same partition, and `train()` only ever reads `train` and `val`.
"""

from __future__ import annotations

import math
import os
import socket
from collections import Counter
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainable import sources
from trainable.config import DataConfig
from trainable.errors import DataError, counted
from trainable.images import (
    FileImages,
    Images,
    TensorImages,
    concat,
    describe,
    materialize,
    verify,
)
from trainable.tags import iterative_split


@dataclass(frozen=True)
class Split:
    """Images and their labels: (N,) class indices, or (N, tags) 0/1 for multi-label data."""

    images: Images
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def multilabel(self) -> bool:
        return self.labels.ndim == 2

    def class_counts(self, num_classes: int) -> torch.Tensor:
        """Images per class (per tag, for multi-label data)."""
        if self.multilabel:
            return self.labels.sum(0, dtype=torch.long)
        return torch.bincount(self.labels, minlength=num_classes)


@dataclass(frozen=True)
class Splits:
    """The three splits of one dataset; `val` is None only in a refit on train + val."""

    train: Split
    val: Split | None
    test: Split
    classes: tuple[str, ...]  # class names, or tag names for multi-label data
    hflip: bool = True
    flip_vertical: bool = False
    notes: tuple[str, ...] = field(default=())  # what preparing skipped or decided, for the user
    carved_val: bool = False  # val was drawn from the pool by seed (not given as a folder)

    @property
    def image_size(self) -> int:
        return self.train.images.size

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def multilabel(self) -> bool:
        """Images carry any number of tags (sigmoid outputs), not one class each."""
        return self.train.multilabel

    def unreadable_here(self) -> Path | None:
        """The first image file of a split that this machine cannot read, if any: one file a
        split, enough to tell a node where the data folder is not mounted."""
        for split in (self.train, self.val, self.test):
            images = split.images if split is not None else None
            if (
                isinstance(images, FileImages)
                and images.paths
                and not os.access(images.paths[0], os.R_OK)
            ):
                return images.paths[0]
        return None

    def reshuffled(self, seed: int) -> Splits:
        """Train and validation drawn again from their pool by `seed`, val as large as before
        and stratified as before; test untouched. As they were where val was given as is."""
        if self.val is None or not self.carved_val:
            return self
        pool = self.for_refit().train
        labels = pool.labels.numpy()
        if self.multilabel:
            share = len(self.val) / len(pool)
            train, val = iterative_split(labels, (1 - share, share), seed)
        else:
            from sklearn.model_selection import train_test_split

            train, val = train_test_split(
                np.arange(len(pool)), test_size=len(self.val), stratify=labels, random_state=seed
            )
        pooled = sources.Pool(pool.images, labels)
        return replace(self, train=_take(pooled, np.sort(train)), val=_take(pooled, np.sort(val)))

    def for_refit(self) -> Splits:
        """Train and validation merged for the final fit; test untouched."""
        if self.val is None:
            return self
        train = Split(
            concat([self.train.images, self.val.images]),
            torch.cat([self.train.labels, self.val.labels]),
        )
        return replace(self, train=train, val=None)


def prepare(cfg: DataConfig) -> Splits:
    """Read `cfg`'s source and split it; small datasets are decoded into memory once."""
    with _no_hanging_downloads():
        pools, classes, notes = sources.read(cfg)
    total = sum(len(p.labels) for p in pools.values()) * 3 * cfg.image_size**2
    in_memory = total <= cfg.in_memory_mib * 2**20
    if not in_memory:
        notes.append(
            f"{total / 2**20:.0f} MiB of images is over data.in_memory_mib={cfg.in_memory_mib}: "
            "decoding files every epoch"
        )
    pools = {k: _load(p, in_memory, cfg, notes) for k, p in pools.items()}
    if pools["all" if "all" in pools else "train"].labels.ndim == 2:
        splits = _split_tags(pools["all"], cfg.val_fraction, cfg.test_fraction, cfg.seed)
        notes += _tags_missing_from_splits(splits, classes)
    else:
        splits = _split(pools, cfg.val_fraction, cfg.test_fraction, cfg.seed, classes)
    return Splits(
        *splits,
        classes=tuple(classes),
        hflip=cfg.hflip,
        flip_vertical=cfg.flip_vertical,
        notes=tuple(notes),
        carved_val="val" not in pools,
    )


def _split_tags(
    pool: sources.Pool, val_fraction: float, test_fraction: float, seed: int
) -> tuple[Split, Split, Split]:
    """Train/val/test of multi-label images, every tag spread over all three where it can be."""

    n = len(pool.labels)
    for name, fraction in (("val", val_fraction), ("test", test_fraction)):
        if round(fraction * n) < 1:
            raise DataError(
                f"data.{name}_fraction={fraction} of {counted(n, 'image')} leaves no {name} image; "
                f"raise {name}_fraction or add images"
            )
    fractions = (1 - val_fraction - test_fraction, val_fraction, test_fraction)
    return tuple(_take(pool, idx) for idx in iterative_split(pool.labels, fractions, seed))  # type: ignore[return-value]


def _tags_missing_from_splits(splits: tuple[Split, ...], tags: Sequence[str]) -> list[str]:
    """A note for each tag too rare to appear in every split."""
    counts = [split.class_counts(len(tags)) for split in splits]
    notes = []
    for index, tag in enumerate(tags):
        per_split = [int(c[index]) for c in counts]
        if 0 in per_split:
            notes.append(
                f"tag {tag!r} has {counted(sum(per_split), 'image')}, too few for every split "
                f"(train {per_split[0]}, val {per_split[1]}, test {per_split[2]})"
            )
    return notes


def _load(pool: sources.Pool, in_memory: bool, cfg: DataConfig, notes: list[str]) -> sources.Pool:
    """Decode into memory (or header-check files left on disk), dropping unreadable images."""
    if in_memory:
        images, failures = materialize(pool.images)
    else:
        images, failures = pool.images, verify(pool.images)
    if not failures:
        return sources.Pool(images, pool.labels)
    index, reason = failures[0]
    first = f"{describe(pool.images, index)} ({reason})"
    if getattr(cfg, "on_bad_file", "error") == "error":
        raise DataError(
            f"cannot read image {first}; delete or replace it, or set data.on_bad_file: skip"
        )
    notes.append(f"skipped {counted(len(failures), 'unreadable image')}, e.g. {first}")
    bad = {i for i, _ in failures}
    keep = [i for i in range(len(pool.labels)) if i not in bad]
    # A decoded tensor already lacks the failures; lazy images still list them.
    return sources.Pool(images if in_memory else images.subset(keep), pool.labels[keep])


def _split(
    pools: dict[str, sources.Pool],
    val_fraction: float,
    test_fraction: float,
    seed: int,
    classes: Sequence[str],
) -> tuple[Split, Split, Split]:
    """Use the given splits; carve what is missing out of `all` (or `train`)."""
    carved = [name for name in ("val", "test") if name not in pools]
    source = "all" if "all" in pools else "train"
    _check_class_sizes(pools[source].labels, classes, source, minimum=1 + len(carved))
    if "all" in pools:
        labels = pools["all"].labels
        rest, test = stratified_indices(labels, test_fraction, seed, classes, "test")
        frac = val_fraction / (1 - test_fraction)
        train, val = stratified_indices(labels[rest], frac, seed, classes, "val", base=rest)
        return tuple(_take(pools["all"], idx) for idx in (train, val, test))  # type: ignore[return-value]
    pool = pools["train"]
    out: dict[str, Split] = {}
    for name, fraction in (("test", test_fraction), ("val", val_fraction)):
        if name in pools:
            out[name] = _as_split(pools[name])
            continue
        keep, carved = stratified_indices(pool.labels, fraction, seed, classes, name)
        out[name] = _take(pool, carved)
        pool = sources.Pool(pool.images.subset(keep), pool.labels[keep])
    return _as_split(pool), out["val"], out["test"]


def stratified_indices(
    labels: np.ndarray,
    fraction: float,
    seed: int,
    classes: Sequence[str],
    split_name: str,
    base: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Split positions into (kept, carved) with `fraction` of each class carved out."""
    from sklearn.model_selection import train_test_split

    n, k = len(labels), len(np.unique(labels))
    carved = math.ceil(fraction * n)
    if carved < k or n - carved < k:
        raise DataError(
            f"data.{split_name}_fraction={fraction} of {counted(n, 'image')} gives {carved} "
            f"{split_name} {'image' if carved == 1 else 'images'} for {k} classes; every split "
            "needs one image per class: "
            f"{'raise' if carved < k else 'lower'} {split_name}_fraction or add images"
        )
    positions = np.arange(n) if base is None else np.asarray(base)
    kept, out = train_test_split(
        positions, test_size=carved, stratify=labels, random_state=seed, shuffle=True
    )
    return np.sort(kept), np.sort(out)


def _check_class_sizes(labels: np.ndarray, classes: Sequence[str], pool: str, minimum: int) -> None:
    counts = Counter(labels.tolist())
    for index, name in enumerate(classes):
        if counts.get(index, 0) < minimum:
            where = "" if pool == "all" else f" in the {pool} split"
            raise DataError(
                f"class {name!r} has {counted(counts.get(index, 0), 'image')}{where}; each class "
                f"needs at least {minimum} there, one for each split carved from it: add images "
                "or remove the class"
            )


def _take(pool: sources.Pool, indices: np.ndarray) -> Split:
    return Split(pool.images.subset(indices.tolist()), torch.as_tensor(pool.labels[indices]))


def _as_split(pool: sources.Pool) -> Split:
    return Split(pool.images, torch.as_tensor(pool.labels))


@contextmanager
def _no_hanging_downloads(seconds: float = 30.0) -> Any:
    """A download that cannot connect fails within `seconds` instead of hanging."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


__all__ = ["Split", "Splits", "TensorImages", "prepare", "stratified_indices"]
