"""Multi-label data: the tags CSV and a split that keeps every tag in every split.

Two CSV layouts are read, both with a header row and the image name first:

    image_name,tags                        image,haze,primary,water
    train_0,haze primary                   train_0,1,1,0
    train_1,agriculture clear water        train_1,0,0,1

The name is found in the image folder with any image extension (or as written, if it has
one). Every problem names the CSV line and the file, as a spreadsheet would show it.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from trainable.errors import DataError, did_you_mean, shown_path

TRUE, FALSE = {"1", "1.0", "true", "yes"}, {"0", "0.0", "false", "no", ""}


def read_tags_csv(
    labels: Path,
    root: Path,
    extensions: Sequence[str],
    tags: Sequence[str] | None = None,
    every_image_tagged: bool = True,
) -> tuple[list[Path], np.ndarray, list[str]]:
    """(image paths, labels as an (N, T) 0/1 uint8 array, tag names) from a tags CSV."""
    rows = _rows(labels)
    header, body = rows[0][1], rows[1:]
    if not body:
        raise DataError(f"{labels} has a header and no rows; add one row per image")
    files = _index_images(root, extensions)
    if len(header) == 2 and header[1].strip().lower() == "tags":
        matrix, names = _tag_lists(body, tags, labels)
    else:
        matrix, names = _tag_columns(header, body, tags, labels)
    if len(names) < 2:
        raise DataError(
            f"{labels} names {len(names)} tag; multi-label data needs at least 2 (with one, "
            "use two class folders and source: imagefolder)"
        )
    paths = [_image(row[0], files, root, labels, line) for line, row in body]
    _check_unique(paths, body, labels)
    if every_image_tagged:
        for index, (line, row) in enumerate(body):
            if not matrix[index].any():
                raise DataError(
                    f"{labels} line {line}: image {row[0]!r} has no tag; tag it, or set "
                    "data.every_image_tagged: false if an image may show none of them"
                )
    unused = [name for name, count in zip(names, matrix.sum(0), strict=True) if not count]
    if unused:
        raise DataError(
            f"{labels}: no image has tag {unused[0]!r}; tag some images with it or drop it "
            "from data.tags"
        )
    return paths, matrix, names


def _tag_lists(
    body: list[tuple[int, list[str]]], tags: Sequence[str] | None, labels: Path
) -> tuple[np.ndarray, list[str]]:
    """planet's layout: `image_name,tags` with the tags space-separated in one cell."""
    named = sorted({tag for _, row in body for tag in row[1].split()})
    names = named if tags is None else list(tags)
    wanted = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(body), len(names)), dtype=np.uint8)
    for index, (line, row) in enumerate(body):
        for tag in row[1].split():
            if tag not in wanted:
                hint = did_you_mean(tag, names, f"data.tags lists {', '.join(names)}")
                raise DataError(
                    f"{labels} line {line}: tag {tag!r} is not one of data.tags; {hint}"
                )
            matrix[index, wanted[tag]] = 1
    return matrix, names


def _tag_columns(
    header: list[str],
    body: list[tuple[int, list[str]]],
    tags: Sequence[str] | None,
    labels: Path,
) -> tuple[np.ndarray, list[str]]:
    """One 0/1 column a tag: `image,<tag>,<tag>,...`; in data.tags' order where it is given."""
    names = [h.strip() for h in header[1:]]
    if tags is not None:
        unknown = [n for n in names if n not in tags]
        if unknown:
            raise DataError(
                f"{labels} line 1: column {unknown[0]!r} is not one of data.tags "
                f"({', '.join(tags)}); add it to data.tags or drop the column"
            )
        missing = [t for t in tags if t not in names]
        if missing:
            raise DataError(
                f"{labels} line 1: data.tags names {missing[0]!r}, which has no column; "
                "add the column or drop the tag"
            )
    matrix = np.stack([_flags(row, header, line, labels) for line, row in body])
    if tags is None:
        return matrix, names
    return matrix[:, [names.index(t) for t in tags]], list(tags)


def _rows(labels: Path) -> list[tuple[int, list[str]]]:
    """(line number, cells) of the non-empty rows, the header first."""
    if not labels.is_file():
        what = "is a folder, not a file" if labels.exists() else "does not exist"
        raise DataError(
            f"data.labels {shown_path(labels)} {what}; point it at the CSV of image tags"
        )
    try:
        with labels.open(newline="", encoding="utf-8-sig") as handle:
            rows = [(n, r) for n, r in enumerate(csv.reader(handle), start=1) if any(r)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(
            f"{labels} is not a readable CSV file ({exc}); save it as UTF-8 CSV"
        ) from None
    if not rows:
        raise DataError(f"{labels} is empty; it needs a header (image_name,tags) and a row each")
    width = len(rows[0][1])
    if width < 2:
        raise DataError(
            f"{labels} line {rows[0][0]}: the header has one column; write image_name,tags or "
            "image_name,<tag>,<tag>,..."
        )
    for line, row in rows[1:]:
        if len(row) != width:
            raise DataError(
                f"{labels} line {line}: {len(row)} cells where the header has {width}; "
                "quote a name that holds a comma"
            )
    return rows


def _flags(row: list[str], header: list[str], line: int, labels: Path) -> np.ndarray:
    flags = np.zeros(len(row) - 1, dtype=np.uint8)
    for column, cell in enumerate(row[1:]):
        value = cell.strip().lower()
        if value not in TRUE | FALSE:
            raise DataError(
                f"{labels} line {line}: column {header[column + 1].strip()!r} is {cell!r}; "
                "a tag column holds 1 or 0"
            )
        flags[column] = value in TRUE
    return flags


def _index_images(root: Path, extensions: Sequence[str]) -> dict[str, list[Path]]:
    """Image files under root, by name without extension (and by name with it)."""
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise DataError(f"data.root {shown_path(root)} {what}; point it at the folder of images")
    index: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in extensions and path.is_file():
            index.setdefault(path.stem, []).append(path)
            index.setdefault(path.name, []).append(path)
    return index


def _image(name: str, files: dict[str, list[Path]], root: Path, labels: Path, line: int) -> Path:
    found = files.get(name.strip(), [])
    if not found:
        raise DataError(
            f"{labels} line {line}: image {name!r} has no file under {root} (looked for any "
            "image extension); add the file or delete the row"
        )
    if len(found) > 1:
        raise DataError(
            f"{labels} line {line}: image {name!r} matches {len(found)} files ({found[0]}, "
            f"{found[1]}); give the name with its extension or remove one of them"
        )
    return found[0]


def _check_unique(paths: list[Path], body: list[tuple[int, list[str]]], labels: Path) -> None:
    seen: dict[Path, int] = {}
    for path, (line, _) in zip(paths, body, strict=True):
        if path in seen:
            raise DataError(
                f"{labels} line {line}: image {path.name} is already on line {seen[path]}; "
                "give each image one row with all its tags"
            )
        seen[path] = line


def iterative_split(labels: np.ndarray, fractions: Sequence[float], seed: int) -> list[np.ndarray]:
    """Positions of each split, so every tag is spread over the splits by `fractions`.

    Iterative stratification (Sechidis, Tsoumakas and Vlahavas, 2011): the rarest tag's images
    are dealt first, each to the split that most wants that tag. Where a tag has at least one
    image per split, every split first gets one (so a tag of 3 images lands in train, val and
    test, not 2-1-0). Seeded; images with no tag are dealt by size alone at the end.
    """
    rng = np.random.default_rng(seed)
    n = len(labels)
    fractions = np.asarray(fractions, dtype=float)
    want = fractions * n  # images each split still wants
    want_tag = np.outer(fractions, labels.sum(0)).astype(float)  # (splits, tags)
    have_tag = np.zeros_like(want_tag)
    where = np.full(n, -1)
    left = labels.astype(bool).copy()
    while left.any():
        counts = left.sum(0)
        tag = int(np.argmin(np.where(counts > 0, counts, np.iinfo(np.int64).max)))
        for image in rng.permutation(np.flatnonzero(left[:, tag])):
            lacking = (have_tag[:, tag] == 0) & (fractions > 0)
            enough = labels[:, tag].sum() >= len(fractions)
            keys = np.lexsort(
                (
                    rng.random(len(fractions)),
                    want,
                    want_tag[:, tag],
                    lacking & enough,
                )
            )
            split = int(keys[-1])
            where[image] = split
            left[image] = False
            want[split] -= 1
            want_tag[split] -= labels[image]
            have_tag[split] += labels[image]
    for image in rng.permutation(np.flatnonzero(where < 0)):
        split = int(np.argmax(want + rng.random(len(want)) * 1e-9))
        where[image] = split
        want[split] -= 1
    return [np.flatnonzero(where == s) for s in range(len(fractions))]
