"""The run directory a search leaves, and `load_best(run_dir)` for the pipelines that use it.

    runs/<name>/
      study.yaml         the resolved study (defaults filled in)
      optuna.db          the Optuna storage, unless `storage:` points elsewhere
      ray/               Ray Tune's experiment (trial logs and errors)
      trials.csv         one row a trial: number, state, metric, epochs, params, fail_reason
      best_config.yaml   the best trial's TrainConfig, ready for trainable.train
      best_config.json   the same, for pipelines that are not Python
      model.pt           {"state_dict": refit weights, "meta": classes, image_size, config, ...}
      test_metrics.json  loss, accuracy, macro F1, per-class scores, confusion matrix (test split)
      history.csv        the refit's per-epoch curves
      summary.json       best trial, its value, trial counts, test scores, timings
      report.html        one self-contained page: summary, plots, fit diagnosis, test scores
      plots/             the report's figures as PNG files

Every file is written to a temporary name and renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from search.engine.trial_attrs import FAIL_REASON
from search.errors import RunDirError

if TYPE_CHECKING:
    import optuna
    import pandas as pd

    from search.engine.refit import Refit
    from search.study.spec import StudySpec
    from trainable import Classifier, TrainConfig


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def trials_frame(study: optuna.Study, metric: str) -> pd.DataFrame:
    """One row a trial, in trial order; `<metric>` is the trial's value (last epoch)."""
    import pandas as pd

    minimize = study.direction.name == "MINIMIZE"
    rows = []
    for trial in study.get_trials(deepcopy=False):
        curve = list(trial.intermediate_values.values())
        best = (min(curve) if minimize else max(curve)) if curve else None
        seconds = trial.duration.total_seconds() if trial.duration else None
        rows.append(
            {
                "number": trial.number,
                "state": trial.state.name,
                metric: trial.value,
                f"best_{metric}": best,
                "epochs": len(curve),
                **trial.params,
                "seconds": seconds,
                "fail_reason": trial.user_attrs.get(FAIL_REASON, ""),
            }
        )
    return pd.DataFrame(rows)


def write_study(run_dir: Path, spec: StudySpec) -> None:
    from search.study.spec import dump_spec

    write_text(run_dir / "study.yaml", dump_spec(spec))


def write_trials(run_dir: Path, study: optuna.Study, metric: str) -> None:
    write_text(run_dir / "trials.csv", trials_frame(study, metric).to_csv(index=False))


def write_results(
    run_dir: Path,
    spec: StudySpec,
    study: optuna.Study,
    refit: Refit,
    splits_info: dict[str, Any],
    seconds: dict[str, float],
) -> None:
    """Everything after the refit: best config, weights, test metrics, curves, summary."""
    import pandas as pd
    import torch

    config = refit.config.model_dump(mode="json")
    write_text(run_dir / "best_config.yaml", yaml.safe_dump(config, sort_keys=False))
    write_json(run_dir / "best_config.json", config)
    meta = {
        "config": config,
        "trial": refit.trial_number,
        "refit_epochs": refit.epochs,
        **splits_info,
    }
    temporary = run_dir / ".model.pt.tmp"
    torch.save({"state_dict": refit.state_dict, "meta": meta}, temporary)
    os.replace(temporary, run_dir / "model.pt")
    write_json(run_dir / "test_metrics.json", refit.test.to_dict())
    write_text(run_dir / "history.csv", pd.DataFrame(refit.history).to_csv(index=False))
    write_json(run_dir / "summary.json", _summary(spec, study, refit, splits_info, seconds))


def _summary(
    spec: StudySpec,
    study: optuna.Study,
    refit: Refit,
    splits_info: dict[str, Any],
    seconds: dict[str, float],
) -> dict[str, Any]:
    from collections import Counter

    states = Counter(t.state.name for t in study.get_trials(deepcopy=False))
    return {
        "study": spec.name,
        "metric": spec.search.metric,
        "direction": spec.search.direction,
        "best_trial": refit.trial_number,
        "best_value": refit.trial_value,
        "best_params": study.best_trial.params,
        "trials": dict(states),
        "refit_epochs": refit.epochs,
        "test": {
            "loss": refit.test.loss,
            "accuracy": refit.test.accuracy,
            "macro_f1": refit.test.macro_f1,
        },
        "seconds": seconds,
        **splits_info,
    }


@dataclass(frozen=True)
class BestConfig:
    """What a search found, read back from its run directory."""

    run_dir: Path
    config: TrainConfig
    trial_number: int
    metric: str
    value: float
    classes: list[str]
    image_size: int
    test_metrics: dict[str, Any]

    def load_model(self, device: str = "cpu") -> Classifier:
        """The refit model with its weights, in eval mode (takes uint8 or [0, 1] images)."""
        import torch

        from trainable import build_model

        saved = torch.load(self.run_dir / "model.pt", map_location=device, weights_only=True)
        model = build_model(self.config.backbone, "none", len(self.classes), self.config.dropout)
        model.load_state_dict(saved["state_dict"])
        return model.to(device).eval()


def load_best(run_dir: str | Path) -> BestConfig:
    """The best configuration of a finished search, with its refit model and test metrics."""
    from trainable import TrainConfig

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"run directory {run_dir} does not exist")
    needed = ["best_config.yaml", "summary.json", "test_metrics.json", "model.pt"]
    missing = [name for name in needed if not (run_dir / name).is_file()]
    if missing:
        raise RunDirError(
            f"run directory {run_dir} has no {missing[0]}: its search has not finished; "
            "run `hpsearch run` on its study again to resume"
        )
    summary = json.loads((run_dir / "summary.json").read_text())
    return BestConfig(
        run_dir=run_dir,
        config=TrainConfig(**yaml.safe_load((run_dir / "best_config.yaml").read_text())),
        trial_number=summary["best_trial"],
        metric=summary["metric"],
        value=summary["best_value"],
        classes=summary["classes"],
        image_size=summary["image_size"],
        test_metrics=json.loads((run_dir / "test_metrics.json").read_text()),
    )
