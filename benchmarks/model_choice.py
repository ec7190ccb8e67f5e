"""Which backbone: one search over several against one search per backbone, and what the
serving-cost figures hpsearch measures are worth against a plain timing.

    python benchmarks/model_choice.py [STUDY] [--seeds N] [--trials T] [--out FILE]
    (STUDY: benchmarks/studies/photo_crops_backbones.yaml, searching EfficientNet-Lite0/1/2)

Side by side in one run, for each seed:

- joint           the study as written: the backbone is one more searched parameter;
- <backbone> only the same study with the backbone held, one search per backbone, each with
                  the same number of trials as the joint search.

Each arm refits its chosen configuration and tests it once (`run_study`, as `hpsearch run`).
Printed: test accuracy (mean and spread over seeds), epochs trained, the backbone refitted and
its latency; the joint search's front (metric against latency) for the first seed; and for
each backbone the latency and throughput hpsearch measured (trainable/cost.py) beside
`torch.utils.benchmark`'s own timing of the same model at batch 1 and 64.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import recorded

sys.path.insert(0, str(Path(__file__).parent))  # search_quality's helpers
from search_quality import with_search

from search.study.spec import StudySpec, load_study_spec

DEFAULT = Path(__file__).parent / "studies" / "photo_crops_backbones.yaml"


@dataclass(frozen=True)
class Outcome:
    arm: str
    seed: int
    accuracy: float  # refit, on the test split
    epochs_trained: int  # summed over the search's trials
    backbone: str  # refitted
    latency_ms: float  # of the refitted backbone, as measured before the search
    seconds: float


def holding(spec: StudySpec, backbone: str) -> StudySpec:
    """The study with the backbone held instead of searched."""
    raw = spec.model_dump(mode="json")
    raw["space"] = {k: v for k, v in raw["space"].items() if k != "backbone"}
    raw["model"] = {**raw["model"], "backbone": backbone}
    raw["name"] = f"{spec.name}-{backbone}"
    return StudySpec.model_validate(raw)


def search(spec: StudySpec, arm: str, seed: int, folder: Path) -> tuple[Outcome, list[str]]:
    from search.report.front import front_rows
    from search.run import run_study
    from search.rundir.layout import RunDir
    from search.rundir.resume import load_run_study

    started = time.perf_counter()
    result = run_study(spec, folder / arm.replace(" ", "_"), echo=lambda line: None)
    _, study = load_run_study(RunDir(result.run_dir))
    summary = result.summary
    best = study.trials[summary.best_trial]
    outcome = Outcome(
        arm=arm,
        seed=seed,
        accuracy=summary.test.accuracy or 0.0,
        epochs_trained=sum(len(t.intermediate_values) for t in study.trials),
        backbone=str(best.params.get("backbone", spec.model.backbone)),
        latency_ms=summary.serving.get("latency_ms", float("nan")),
        seconds=time.perf_counter() - started,
    )
    front = [" | ".join(row) for row in front_rows(study, spec, summary.best_trial)]
    print(
        f"  seed {seed} {arm:<26} accuracy {outcome.accuracy:.3f}  {outcome.epochs_trained:>3} "
        f"epochs  refitted {outcome.backbone} ({outcome.latency_ms:.2f} ms)  "
        f"{outcome.seconds:.0f} s",
        flush=True,
    )
    return outcome, front


def timings(spec: StudySpec, num_classes: int, seconds: float = 2.0) -> list[dict[str, Any]]:
    """hpsearch's serving figures against torch.utils.benchmark on the same model, threads and
    input (uint8 images, fp32 on a CPU)."""
    import torch
    from torch.utils import benchmark

    from trainable import build_model
    from trainable.cost import serving_cost

    torch.set_num_threads(max(1, int(spec.resources.cpus_per_trial)))
    size, rows = spec.data.image_size, []
    for backbone in spec.backbones:
        ours = serving_cost(backbone, num_classes, size)
        model = build_model(backbone, "none", num_classes, dropout=0.0).eval()
        plain = {}
        for batch in (1, 64):
            images = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8)
            with torch.inference_mode():
                timer = benchmark.Timer("model(images)", globals={"model": model, "images": images})
                plain[batch] = timer.blocked_autorange(min_run_time=seconds).median
        rows.append(
            {
                "backbone": backbone,
                "latency_ms": ours.latency_ms,
                "plain_latency_ms": round(plain[1] * 1000, 3),
                "throughput": ours.throughput,
                "plain_throughput": round(64 / plain[64], 1),
                "params_m": ours.params_m,
                "macs_g": ours.macs_g,
            }
        )
    return rows


def table(outcomes: list[Outcome]) -> str:
    lines = [
        "| arm | test accuracy, mean (min-max) | epochs trained | refitted backbones | wall s |",
        "|---|---|---|---|---|",
    ]
    for arm in dict.fromkeys(o.arm for o in outcomes):
        rows = [o for o in outcomes if o.arm == arm]
        accuracy = [o.accuracy for o in rows]
        lines.append(
            f"| {arm} | {statistics.mean(accuracy):.3f} ({min(accuracy):.3f}-{max(accuracy):.3f})"
            f" | {statistics.mean(o.epochs_trained for o in rows):.1f} | "
            f"{', '.join(o.backbone.removeprefix('efficientnet_') for o in rows)} | "
            f"{statistics.mean(o.seconds for o in rows):.0f} |"
        )
    return "\n".join(lines)


def timing_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| backbone | params M | GMACs | ms an image (hpsearch / plain torch) "
        "| images/s at 64 (hpsearch / plain torch) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['backbone']} | {r['params_m']:.2f} | {r['macs_g']:.3f} | "
            f"{r['latency_ms']:.2f} / {r['plain_latency_ms']:.2f} | "
            f"{r['throughput']:,.0f} / {r['plain_throughput']:,.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("study", type=Path, nargs="?", default=DEFAULT)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=None, help="default: the study's")
    parser.add_argument(
        "--out", type=Path, default=None, help="default: benchmarks/model_choice.STUDY.json"
    )
    parser.add_argument("--timing-seconds", type=float, default=2.0, help="a plain timing's")
    args = parser.parse_args()

    from search.engine.cluster import start_ray
    from trainable import prepare

    spec = load_study_spec(args.study)
    if args.trials:
        spec = with_search(spec, trials=args.trials)
    splits = prepare(spec.data)
    start_ray(spec, verbose=False)
    print(f"{spec.name}: {spec.search.trials} trials a search, {len(splits.test)} test images")
    outcomes, fronts = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            seeded = with_search(spec, seed=seed)
            arms = [("joint", seeded)] + [(f"{b} only", holding(seeded, b)) for b in spec.backbones]
            for arm, arm_spec in arms:
                outcome, front = search(arm_spec, arm, seed, Path(tmp) / str(seed))
                outcomes.append(outcome)
                fronts.setdefault(arm, front)
    rows = timings(spec, splits.num_classes, args.timing_seconds)
    print(table(outcomes))
    print("\nthe joint search's front, seed 0 (trial | backbone | val_loss | latency_ms | ...):")
    print("\n".join(f"  {line}" for line in fronts["joint"]))
    print()
    print(timing_table(rows))
    out = args.out or recorded.beside("model_choice", args.study.stem)
    recorded.save(out, {"outcomes": outcomes, "fronts": fronts, "timings": rows}, complete=True)
    print(f"written: {out}")


if __name__ == "__main__":
    main()
