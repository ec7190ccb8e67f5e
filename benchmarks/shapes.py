"""A small synthetic dataset, offline: coloured shapes on textured backgrounds.

    python benchmarks/shapes.py [ROOT] [--per-class N]   (ROOT: benchmarks/data/shapes)

Five classes (circle, square, triangle, cross, ring), 100 images each at 48 px, as a
class-per-folder tree `hpsearch` reads with `source: imagefolder`. Each shape has a random
size, place, rotation and colour over a noisy background of another colour, so the task needs
shape, not colour: a third kind of task beside digits (strokes) and photo crops (textures).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

CLASSES = ("circle", "square", "triangle", "cross", "ring")
DEFAULT_ROOT = Path(__file__).parent / "data" / "shapes"
SIZE = 48


def _polygon(kind: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    corners = {"square": 4, "triangle": 3}[kind]
    return [
        (
            cx + r * math.cos(angle + 2 * math.pi * i / corners),
            cy + r * math.sin(angle + 2 * math.pi * i / corners),
        )
        for i in range(corners)
    ]


def draw(kind: str, rng: np.random.Generator):
    from PIL import Image, ImageDraw

    background = rng.integers(0, 256, 3)
    noise = rng.normal(0, 18, (SIZE, SIZE, 3))
    pixels = np.clip(background + noise, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    pen = ImageDraw.Draw(image)
    colour = tuple(int(c) for c in (background + rng.integers(80, 176, 3)) % 256)
    r = float(rng.uniform(9, 18))
    cx, cy = (float(rng.uniform(r + 2, SIZE - r - 2)) for _ in range(2))
    angle = float(rng.uniform(0, 2 * math.pi))
    box = (cx - r, cy - r, cx + r, cy + r)
    width = max(2, int(r / 3))
    if kind == "circle":
        pen.ellipse(box, fill=colour)
    elif kind == "ring":
        pen.ellipse(box, outline=colour, width=width)
    elif kind == "cross":
        for a in (angle, angle + math.pi / 2):
            dx, dy = r * math.cos(a), r * math.sin(a)
            pen.line((cx - dx, cy - dy, cx + dx, cy + dy), fill=colour, width=width)
    else:
        pen.polygon(_polygon(kind, cx, cy, r, angle), fill=colour)
    return image


def make(root: Path, per_class: int = 100, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for kind in CLASSES:
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            draw(kind, rng).save(folder / f"{i:03d}.png")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--per-class", type=int, default=100, help="images of each class")
    args = parser.parse_args()
    root = make(args.root, per_class=args.per_class)
    print(f"{root}: {sum(1 for _ in args.root.rglob('*.png'))} images")


if __name__ == "__main__":
    main()
