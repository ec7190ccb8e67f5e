"""What a search leaves in its run directory, and `load_best(run_dir)` for the pipelines that
use it. `RunDir` (layout.py) names the files; this module fills them."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from search.errors import RunDirError
from search.rundir.layout import (
    DataInfo,
    RunDir,
    Summary,
    TestScores,
    replacing,
    write_bytes,
    write_json,
    write_text,
)
from search.rundir.lock import held_by
from search.rundir.refit_result import Refit
from search.study.label_kind import applicable
from search.trials.attrs import (
    CHOSEN_EPOCHS,
    FAIL_REASON,
    GPUS,
    INFEASIBLE,
    NODE,
    PORTFOLIO,
    RACE_OF,
    RACE_RUN,
    RAY_TRIAL_ID,
    STOPPED,
    WARM_FROM,
    WARM_TRIAL,
)
from search.trials.serving import cost_of
from search.trials.states import search_trials, state_counts, state_name
from search.trials.values import best_of, minimizes
from trainable import TrainConfig

TAGS = (RACE_OF, RACE_RUN, STOPPED, WARM_FROM, WARM_TRIAL, PORTFOLIO)  # trials.csv columns

if TYPE_CHECKING:
    import optuna
    import pandas as pd
    import torch

    from search.study.spec import StudySpec
    from trainable import Classifier


def trials_frame(study: optuna.Study, metric: str) -> pd.DataFrame:
    """One row a trial, in trial order.

    `<metric>` is the trial's value, `epochs_run` how far it trained; when epochs is searched,
    `epochs` is the epoch a complete trial's curve chose (the number its refit would train).
    """
    import pandas as pd

    minimize = minimizes(study)
    rows = []
    for trial in study.get_trials(deepcopy=False):
        curve = list(trial.intermediate_values.values())
        best = best_of(curve, minimize)
        seconds = trial.duration.total_seconds() if trial.duration else None
        rows.append(
            {
                "number": trial.number,
                "state": state_name(trial),
                metric: trial.value,
                f"best_{metric}": best,
                "epochs_run": len(curve),
                **trial.params,
                **_chosen_epochs(trial),
                **(cost_of(trial) or {}),
                "seconds": seconds,
                "ray_trial_id": trial.user_attrs.get(RAY_TRIAL_ID, ""),  # ray/ folder names
                "node": trial.user_attrs.get(NODE, ""),
                "gpus": trial.user_attrs.get(GPUS, ""),
                "fail_reason": trial.user_attrs.get(FAIL_REASON, "")
                or trial.user_attrs.get(INFEASIBLE, ""),
                **_tags(trial),
            }
        )
    frame = pd.DataFrame(rows)
    for column in ("epochs", RACE_OF, RACE_RUN, WARM_TRIAL, PORTFOLIO):  # blank where none
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    return frame


def trial_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """`trials_frame`'s rows for JSON: each value as the storage holds it (a float to its last
    digit, a whole number as one), null for nothing (a blank, NaN, pandas' NA)."""
    import pandas as pd

    def plain(value: Any) -> Any:
        if isinstance(value, str):
            return value or None
        if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
            return None
        return value.item() if hasattr(value, "item") else value  # numpy scalars

    return [
        {key: plain(value) for key, value in row.items()}
        for row in frame.astype(object).to_dict(orient="records")
    ]


def shown_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as a person reads it: floats to 4 significant digits, nothing as a blank
    (not None, NaN or <NA>)."""
    shown = frame.astype(object).where(frame.notna(), "")
    return shown.map(lambda v: f"{v:.4g}" if isinstance(v, float) else v)


def _tags(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """What kind of trial it is, where not a plain search trial: a race run's contender and
    run (race_of, race_run), the budget limit that stopped it (stopped), the earlier study a
    warm-start trial comes from (warm_start_from, warm_start_trial), its portfolio entry."""
    return {k: trial.user_attrs[k] for k in TAGS if k in trial.user_attrs}


def _chosen_epochs(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    chosen = trial.user_attrs.get(CHOSEN_EPOCHS)
    return {} if chosen is None else {"epochs": chosen}


def save_model(path: Path, payload: dict[str, Any]) -> None:
    """model.pt, written whole or not at all (a full disk is one line, nothing left behind)."""
    import torch

    with replacing(path) as temporary:
        failed = None
        # The file is ours to close: torch's writer, kept alive by the traceback of its
        # failure, would hold it open (its space on a full disk not given back).
        with open(temporary, "wb") as handle:
            try:
                torch.save(payload, handle)
            except RuntimeError as exc:  # torch's zip writer says "file write failed"
                failed = exc
        if failed is not None:
            full = no_room_left(temporary)
            raise OSError(errno.ENOSPC if full else errno.EIO, str(failed)) from None


def no_room_left(path: Path) -> bool:
    """Whether the device holding `path` has no room left, asked of the file system itself
    (torch says only "file write failed"): a page written beside the failed file, synced."""
    probe = path.with_name(path.name + ".room")
    try:
        with open(probe, "wb") as handle:
            handle.write(b"\0" * 65536)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        return exc.errno == errno.ENOSPC
    finally:
        probe.unlink(missing_ok=True)
    return False


def write_trials(run: RunDir, study: optuna.Study, metric: str) -> None:
    write_text(run.trials_csv, trials_frame(study, metric).to_csv(index=False))


def write_results(
    run: RunDir,
    spec: StudySpec,
    study: optuna.Study,
    refit: Refit,
    data: DataInfo,
    seconds: dict[str, float],
    budget: dict[str, Any] | None = None,
) -> Summary:
    """Everything after the refit: best config, weights, test metrics, curves, summary."""
    import pandas as pd

    config = applicable(refit.config.model_dump(mode="json"), spec.multilabel)
    write_text(run.best_config_yaml, yaml.safe_dump(config, sort_keys=False))
    write_json(run.best_config_json, config)
    meta = {
        "config": config,
        "trial": refit.trial_number,
        "refit_epochs": refit.config.epochs,
        **data.model_dump(),
    }
    fitted = refit.fitted
    save_model(run.model, {"state_dict": fitted.state_dict, "meta": meta})
    write_bytes(run.model_onnx, fitted.onnx)
    write_json(run.test_metrics, fitted.test.to_dict())
    write_text(run.history, pd.DataFrame(fitted.history).to_csv(index=False))
    summary = Summary(
        **data.model_dump(),
        study=spec.name,
        metric=spec.search.metric,
        direction=spec.search.direction,
        best_trial=refit.trial_number,
        best_value=refit.trial_value,
        best_params=refit.trial_params,
        trials=state_counts(search_trials(study)),
        refit_epochs=refit.config.epochs,
        test=TestScores.of(fitted.test),
        seconds=seconds,
        refit_placement=refit.placement,
        serving=refit.serving,
        onnx=fitted.onnx_check,
        race=spec.search.select.summary(study, spec.search.constraints.limits),
        budget=budget or {},
    )
    run.write_summary(summary)
    return summary


@dataclass(frozen=True)
class BestConfig:
    """What a search found, read back from its run directory."""

    run_dir: Path
    config: TrainConfig
    trial_number: int
    metric: str
    value: float
    classes: list[str]  # class names, or tag names when `multilabel`
    image_size: int
    test_metrics: dict[str, Any]
    multilabel: bool = False

    @property
    def threshold(self) -> float:
        """Multi-label data: a tag is predicted where its probability is above this."""
        return self.config.threshold

    def load_model(self, device: str = "cpu") -> Classifier:
        """The refit model with its weights, in eval mode (takes uint8 or [0, 1] images)."""
        import torch

        saved = torch.load(RunDir(self.run_dir).model, map_location=device, weights_only=True)
        from trainable import build_model  # torch: 2 s, paid only where a model is loaded

        model = build_model(self.config.backbone, "none", len(self.classes), self.config.dropout)
        model.load_state_dict(saved["state_dict"])
        return model.to(device).eval()

    def predict_proba(
        self, images: Any, model: Classifier | None = None, batch_size: int = 256
    ) -> torch.Tensor:
        """Each image's probabilities, (N, classes): softmax over the classes, or for
        multi-label data a sigmoid per tag (what model.onnx returns too).

        `images`: one image or many (trainable/inputs.py): a path or paths, PIL images, numpy
        H x W x C arrays, torch C x H x W or N x C x H x W tensors, uint8 or float in [0, 1];
        each resized and centre-cropped to the size the model was trained at, so an image
        gives the same answer alone as in a batch. `model`: from `load_model`, to predict many
        times without reloading it.
        """
        import torch

        from trainable import forward  # torch, as above

        model = model or self.load_model()
        batch = self._squares(images)
        device = next(model.parameters()).device
        outputs = []
        with torch.inference_mode():
            for start in range(0, len(batch), batch_size):
                chunk = batch[start : start + batch_size].to(device)
                outputs.append(forward(model, chunk, device, self.config.precision).float().cpu())
        logits = torch.cat(outputs) if outputs else torch.empty(0, len(self.classes))
        return logits.sigmoid() if self.multilabel else logits.softmax(1)

    def predict(
        self, images: Any, model: Classifier | None = None, batch_size: int = 256
    ) -> list[str] | list[set[str]]:
        """Each image's class name, or for multi-label data its set of tags (those above
        `threshold`). `images` and `model` as for `predict_proba`."""
        probabilities = self.predict_proba(images, model, batch_size)
        if not self.multilabel:
            return [self.classes[i] for i in probabilities.argmax(1).tolist()]
        chosen = (probabilities > self.threshold).tolist()
        return [{t for t, on in zip(self.classes, row, strict=True) if on} for row in chosen]

    def top_k(
        self, images: Any, k: int = 5, model: Classifier | None = None
    ) -> list[list[tuple[str, float]]]:
        """Each image's `k` most probable classes (or tags), with their probabilities."""
        probabilities = self.predict_proba(images, model)
        values, indices = probabilities.topk(min(k, len(self.classes)), dim=1)
        return [
            [(self.classes[i], round(float(p), 6)) for p, i in zip(ps, ix, strict=True)]
            for ps, ix in zip(values.tolist(), indices.tolist(), strict=True)
        ]

    def _squares(self, images: Any) -> torch.Tensor:
        from trainable.inputs import as_batch  # torchvision: as above

        return as_batch(images, self.image_size)


def load_best(run_dir: str | Path) -> BestConfig:
    """The best configuration of a finished search, with its refit model and test metrics."""

    run = RunDir(Path(run_dir))
    if not run.path.is_dir():
        raise RunDirError(f"run directory {run} does not exist")
    run.read_spec()  # a folder that is no run directory says so
    summary = run.read_summary()
    if summary is None:
        holder = held_by(run)
        if holder is not None:
            raise RunDirError(
                f"run directory {run} is still running ({holder}): its result is written when "
                f"the refit ends; `hpsearch status {run}` shows how far it is"
            )
        raise RunDirError(
            f"run directory {run} has no {run.missing()[0]}: its search has not finished and "
            "nothing runs it now; run `hpsearch run` on its study again to resume"
        )
    return BestConfig(
        run_dir=run.path,
        config=TrainConfig(**yaml.safe_load(run.best_config_yaml.read_text())),
        trial_number=summary.best_trial,
        metric=summary.metric,
        value=summary.best_value,
        classes=summary.classes,
        image_size=summary.image_size,
        test_metrics=run.read_test_metrics() or {},
        multilabel=summary.multilabel,
    )
