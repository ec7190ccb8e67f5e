"""The study run.sh's last step runs: studies/photo_crops_gpu.yaml, 8 trials, its data made here.

    python benchmarks/device/study.py FOLDER [--tiny]     # writes FOLDER/study.yaml and the data

The photo crops are made from scikit-learn's two photographs (benchmarks/photo_crops.py), 1,000
a class as the study's comment says; --tiny makes 30 a class at 32 px, 4 trials of at most 2
epochs, for a CPU.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from photo_crops import make  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--tiny", action="store_true")
    args = parser.parse_args()
    study = yaml.safe_load((ROOT / "studies" / "photo_crops_gpu.yaml").read_text())
    data = args.folder.resolve() / "photo_crops"
    make(data, per_class=30 if args.tiny else 1000)
    study["data"]["root"] = str(data)
    study["search"]["trials"] = 4 if args.tiny else args.trials
    if args.tiny:
        study["data"]["image_size"] = 32
        study["space"]["epochs"] = {"type": "int", "low": 1, "high": 2}
        study["space"]["batch_size"] = {"type": "categorical", "choices": [16, 32]}
    path = args.folder / "study.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    print(f"written: {path} ({study['search']['trials']} trials, data {data})")


if __name__ == "__main__":
    main()
