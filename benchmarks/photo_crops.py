"""A small real-photo dataset, offline: crops of scikit-learn's two bundled photographs.

    python benchmarks/photo_crops.py [ROOT] [--per-class N]   (ROOT: benchmarks/data/photo_crops)

Four classes, 150 crops each, as a class-per-folder tree `hpsearch` reads with
`source: imagefolder`: the pagoda, the trees and the lake of china.jpg, the dahlia of
flower.jpg. Crops are 40 to 140 px squares at random places inside each class's region, some
flipped, so neighbouring classes overlap at their edges as real photographs do.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

# (photo, left, top, right, bottom) regions of the 640 x 427 photographs, per class
REGIONS = {
    "pagoda": [("china", 60, 40, 330, 400)],
    "trees": [("china", 470, 210, 640, 427), ("china", 0, 90, 60, 380)],
    "lake": [("china", 330, 60, 640, 200)],
    "dahlia": [("flower", 180, 90, 440, 360)],
}
DEFAULT_ROOT = Path(__file__).parent / "data" / "photo_crops"


def make(root: Path, per_class: int = 150, seed: int = 0) -> Path:
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photos = load_sample_images()
    images = {
        Path(f).stem: Image.fromarray(a)
        for f, a in zip(photos.filenames, photos.images, strict=True)
    }
    rng = np.random.default_rng(seed)
    for name, regions in REGIONS.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            photo, left, top, right, bottom = regions[rng.integers(len(regions))]
            size = int(rng.integers(40, 141))
            x = int(rng.integers(left, max(left + 1, right - size)))
            y = int(rng.integers(top, max(top + 1, bottom - size)))
            crop = images[photo].crop((x, y, x + size, y + size))
            if rng.random() < 0.5:
                crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            crop.save(folder / f"{i:03d}.jpg", quality=90)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--per-class", type=int, default=150, help="crops of each class")
    args = parser.parse_args()
    root = make(args.root, per_class=args.per_class)
    print(f"{root}: {sum(1 for _ in args.root.rglob('*.jpg'))} images")


if __name__ == "__main__":
    main()
