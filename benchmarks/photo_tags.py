"""A small multi-label dataset, offline: tagged crops of scikit-learn's two bundled photographs.

    python benchmarks/photo_tags.py [ROOT]     (default: benchmarks/data/photo_tags)

Writes ROOT/images/*.jpg and ROOT/labels.csv in planet's format (`image_name,tags`): each crop
carries every tag that covers at least a fifth of it, out of sky, water, pagoda, greenery
(china.jpg's trees and flower.jpg's leaves) and flower. Crops are 48 to 160 px squares at
random places, some flipped left to right, so most carry two or three tags.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

TAGS = ("sky", "water", "pagoda", "greenery", "flower")
DEFAULT_ROOT = Path(__file__).parent / "data" / "photo_tags"
SHARE = 0.2  # a tag covering this much of a crop is on it
# Rectangles (left, top, right, bottom) painted in order over the photo's first tag.
CHINA = [
    ("water", (0, 200, 640, 427)),
    ("greenery", (545, 130, 640, 427)),
    ("greenery", (330, 285, 640, 427)),
    ("greenery", (0, 150, 65, 427)),
    ("greenery", (0, 335, 640, 427)),
    ("pagoda", (180, 25, 230, 60)),
    ("pagoda", (95, 60, 320, 150)),
    ("pagoda", (85, 150, 330, 240)),
    ("pagoda", (60, 240, 355, 330)),
    ("pagoda", (70, 330, 370, 395)),
]


def label_maps() -> dict[str, np.ndarray]:
    """Per photo, a (427, 640) map of tag indices: what each pixel shows."""
    china = np.full((427, 640), TAGS.index("sky"))
    for tag, (left, top, right, bottom) in CHINA:
        china[top:bottom, left:right] = TAGS.index(tag)
    flower = np.full((427, 640), TAGS.index("greenery"))
    ys, xs = np.mgrid[0:427, 0:640]
    for cx, cy, radius in ((308, 212, 140), (380, 425, 80)):
        flower[(xs - cx) ** 2 + (ys - cy) ** 2 <= radius**2] = TAGS.index("flower")
    return {"china": china, "flower": flower}


def make(root: Path, crops: int = 600, seed: int = 0) -> Path:
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photos = load_sample_images()
    images = {
        Path(f).stem: Image.fromarray(a)
        for f, a in zip(photos.filenames, photos.images, strict=True)
    }
    maps = label_maps()
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(crops):
        photo = "china" if rng.random() < 0.7 else "flower"
        size = int(rng.integers(48, 161))
        x, y = int(rng.integers(0, 640 - size)), int(rng.integers(0, 427 - size))
        shown = np.bincount(maps[photo][y : y + size, x : x + size].ravel(), minlength=len(TAGS))
        tags = [t for t, n in zip(TAGS, shown, strict=True) if n >= SHARE * size * size]
        crop = images[photo].crop((x, y, x + size, y + size))
        if rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        name = f"crop_{i:04d}"
        crop.save(root / "images" / f"{name}.jpg", quality=90)
        rows.append((name, " ".join(tags)))
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_name", "tags"])
        writer.writerows(rows)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT)
    args = parser.parse_args()
    root = make(args.root)
    with (root / "labels.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    counts = {t: sum(t in r["tags"].split() for r in rows) for t in TAGS}
    print(f"{root}: {len(rows)} images; images per tag: {counts}")


if __name__ == "__main__":
    main()
