"""Images/s of `trainable.train()` against a bare PyTorch loop: same model, data, batch size.

Both train the same Classifier on the same in-memory images with AdamW, the same precision
(bf16 autocast + channels_last on CUDA, fp32 on CPU) and the same batch size. The bare loop does
only forward, loss, backward and step; train() adds its schedule, metrics, divergence checks and
per-epoch validation (validation time is not counted: train() reports its training images/s).
Rounds alternate the two so drift in machine speed hits both; the first epoch of each run is a
warm-up and is dropped.

    python benchmarks/trainable_throughput.py            # CPU: efficientnet_lite0, 64 px
    python benchmarks/trainable_throughput.py --backbone resnet50 --image-size 224 \
        --batch-size 128 --samples 4096                  # GPU
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import recorded
import torch

from trainable import FakeData, TrainConfig, prepare, resolve_device, train
from trainable.models import build_model


def bare_loop(cfg: TrainConfig, images: torch.Tensor, labels: torch.Tensor, device) -> list[float]:
    """The fastest honest loop: one gather per batch, nothing else."""
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.backbone, cfg.weights, int(labels.max()) + 1, cfg.dropout).to(device)
    cuda = device.type == "cuda"
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    images, labels = images.to(device), labels.to(device)
    rates = []
    for _ in range(cfg.epochs):
        model.train()
        order = torch.randperm(len(labels), device=device)
        start = time.perf_counter()
        for i in range(0, len(order), cfg.batch_size):
            index = order[i : i + cfg.batch_size]
            x = images[index]
            if cuda:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
                loss = torch.nn.functional.cross_entropy(model(x).float(), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if cuda:
            torch.cuda.synchronize()
        rates.append(len(labels) / (time.perf_counter() - start))
    return rates[1:]


def train_rates(cfg: TrainConfig, splits, device) -> list[float]:
    """train()'s images/s per epoch, the first (warm-up) dropped."""
    return [r["images_per_second"] for r in train(cfg, splits, device=device).records[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--samples", type=int, default=640, help="training images per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="per run; the first is warm-up")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument(
        "--out", type=Path, default=None, help="default: benchmarks/trainable_throughput.json"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(None)
    # val/test get a sliver: this measures training, validation is timed apart by train().
    splits = prepare(
        FakeData(
            source="fake",
            samples=int(args.samples / 0.9) + 1,
            classes=10,
            image_size=args.image_size,
            val_fraction=0.05,
            test_fraction=0.05,
        )
    )
    cfg = TrainConfig(
        backbone=args.backbone,
        weights="none",
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=1e-4,
        dropout=0.1,
    )
    images, labels = splits.train.images.tensor, splits.train.labels
    bare, ours = [], []
    for _ in range(args.rounds):
        bare += bare_loop(cfg, images, labels, device)
        ours += train_rates(cfg, splits, device)
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {args.threads} threads"
    print(
        f"{args.backbone} {args.image_size}px batch {args.batch_size}, {len(labels)} images, {name}"
    )
    print(f"bare loop : {statistics.median(bare):8.1f} images/s  {[round(r, 1) for r in bare]}")
    print(f"train()   : {statistics.median(ours):8.1f} images/s  {[round(r, 1) for r in ours]}")
    print(f"ratio train()/bare = {statistics.median(ours) / statistics.median(bare):.3f}")
    out = args.out or recorded.beside("trainable_throughput")
    rates = {"bare_images_per_s": bare, "train_images_per_s": ours}
    recorded.save(out, rates, complete=True, device=name, arguments=vars(args))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
