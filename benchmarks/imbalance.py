"""Class imbalance: which `balance` wins on digits where half the classes are rare.

    python benchmarks/imbalance.py [--minority 30] [--trials 16] [--epochs 4] [--out FILE]

Builds an imagefolder of scikit-learn's digits keeping every image of 0-4 (about 180 each) and
`--minority` images of each of 5-9, then, in one run:

1. searches benchmarks/studies/imbalanced_digits.yaml, where `balance` is searched over none,
   oversample, undersample and weighted_loss beside lr and dropout, and says which one the
   search chose (and each one's best validation loss);
2. side by side: the chosen configuration refitted on train + val once with each `balance`,
   every other setting equal, scored on the test split: accuracy, macro F1 and the mean recall
   of the rare classes (what balancing is for).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import recorded

STUDY = Path(__file__).parent / "studies" / "imbalanced_digits.yaml"
BALANCES = ("none", "oversample", "undersample", "weighted_loss")
RARE = tuple(str(d) for d in range(5, 10))


def make(root: Path, minority: int = 30, seed: int = 0) -> Path:
    """Digits as PNG files, class per folder: all of 0-4, `minority` of each of 5-9."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    for digit in range(10):
        members = np.flatnonzero(digits.target == digit)
        if str(digit) in RARE:
            members = rng.choice(members, minority, replace=False)
        folder = root / str(digit)
        folder.mkdir(parents=True, exist_ok=True)
        for index in members:
            pixels = (digits.images[index] * (255 / 16)).round().astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{index:04d}.png")
    return root


def search(
    root: Path, trials: int, epochs: int, run_dir: Path
) -> tuple[dict, dict[str, tuple[float, int]]]:
    """The study, balance searched: (its summary, per balance its best val_loss and trials)."""
    import yaml

    from search.run import run_study
    from search.rundir.layout import RunDir
    from search.rundir.results import trials_frame
    from search.rundir.resume import load_run_study
    from search.study.spec import parse_study_spec

    raw = yaml.safe_load(STUDY.read_text())
    raw["data"]["root"] = str(root)
    raw["search"]["trials"] = trials
    raw["fixed"]["epochs"] = epochs
    spec = parse_study_spec(raw)
    result = run_study(spec, run_dir, echo=print)
    _, study = load_run_study(RunDir(result.run_dir))
    frame = trials_frame(study, spec.search.metric)
    frame = frame[frame.state != "FAIL"]
    best = {  # the lowest val_loss any epoch of a trial reached, pruned trials included
        b: (float(frame[frame.balance == b].best_val_loss.min()), int((frame.balance == b).sum()))
        for b in BALANCES
    }
    return result.summary.model_dump(), best


def side_by_side(root: Path, config: dict) -> dict[str, dict[str, float]]:
    """The chosen configuration with each balance: refit on train + val, scored on test."""
    import yaml

    from search.study.spec import parse_study_spec
    from trainable import TrainConfig, evaluate, prepare, train

    raw = yaml.safe_load(STUDY.read_text())
    raw["data"]["root"] = str(root)
    splits = prepare(parse_study_spec(raw).data)
    scores = {}
    for balance in BALANCES:
        cfg = TrainConfig(**{**config, "balance": balance})
        model = train(cfg, splits.for_refit()).model
        test = evaluate(model, splits.test, splits.classes)
        scores[balance] = {
            "accuracy": test.accuracy,
            "macro_f1": test.macro_f1,
            "rare_recall": float(np.mean([test.per_class[c]["recall"] for c in RARE])),
        }
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minority", type=int, default=30)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None, help="default: benchmarks/imbalance.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = make(Path(folder) / "digits", args.minority)
        summary, best = search(root, args.trials, args.epochs, Path(folder) / "run")
        import yaml

        config = yaml.safe_load((Path(folder) / "run" / "best_config.yaml").read_text())
        scores = side_by_side(root, config)
    chosen = summary["best_params"]["balance"]
    print(f"\nthe search chose balance={chosen} (trial {summary['best_trial']})")
    print(
        "| balance | trials | best val_loss in the search | side by side: test accuracy "
        "| test macro F1 | recall of the rare classes |"
    )
    print("|---|---|---|---|---|---|")
    for balance in BALANCES:
        s, (loss, trials) = scores[balance], best[balance]
        print(
            f"| {balance} | {trials} | {loss:.4f} | {s['accuracy']:.4f} | {s['macro_f1']:.4f} "
            f"| {s['rare_recall']:.4f} |"
        )
    out = args.out or recorded.beside("imbalance")
    figures = {"chosen": chosen, "best_val_loss": best, "side_by_side": scores}
    recorded.save(out, figures, complete=True)
    print(f"written: {out}")


if __name__ == "__main__":
    main()
