"""Transfer learning, measured: the same fine-tuning from ImageNet weights and from random ones.

Digits at 64 px, efficientnet_lite0, 3 epochs, AdamW lr 1e-3, batch 32 (the defaults below).
Prints validation accuracy per epoch, the wall time of each run and the test accuracy.

    python benchmarks/transfer_learning.py
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import recorded
import torch

from trainable import DigitsData, TrainConfig, evaluate, prepare, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--out", type=Path, default=None, help="default: benchmarks/transfer_learning.json"
    )
    args = parser.parse_args()
    rows = []
    splits = prepare(DigitsData(image_size=args.image_size))
    print(
        f"digits {args.image_size}px: {len(splits.train)} train / {len(splits.val)} val / "
        f"{len(splits.test)} test, {torch.get_num_threads()} threads"
    )
    for weights in ("imagenet", "none"):
        cfg = TrainConfig(
            weights=weights,
            epochs=args.epochs,
            lr=args.lr,
            batch_size=args.batch_size,
            optimizer="adamw",
        )
        start = time.perf_counter()
        history = train(cfg, splits)
        seconds = time.perf_counter() - start
        curve = " ".join(f"{r['val_accuracy']:.3f}" for r in history.records)
        test = evaluate(history.model, splits.test, splits.classes).accuracy
        print(
            f"weights={weights:8s} val_accuracy by epoch: {curve}  ({seconds:.0f} s), "
            f"test accuracy {test:.3f}"
        )
        rows.append({"weights": weights, "records": history.records, "test_accuracy": test})
    out = args.out or recorded.beside("transfer_learning")
    recorded.save(out, rows, complete=True, arguments=vars(args))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
