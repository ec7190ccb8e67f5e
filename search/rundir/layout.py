"""`RunDir`: the one place that names the files of a run directory and reads or writes them.

    runs/<name>/
      study.yaml         the resolved study (defaults filled in)
      optuna.db          the Optuna storage, unless `storage:` points elsewhere
      ray/               Ray Tune's experiment (trial logs and errors)
      trials.csv         one row a trial: number, state, metric, epochs, params, fail_reason
      best_config.yaml   the best trial's TrainConfig, ready for trainable.train
      best_config.json   the same, for pipelines that are not Python
      model.pt           {"state_dict": refit weights, "meta": classes, image_size, config, ...}
      model.onnx         the same model for ONNX Runtime: raw uint8 images in (any size: it
                         resizes and crops them itself), probabilities out
      test_metrics.json  loss, accuracy, macro F1, per-class scores, confusion matrix (test split);
                         multi-label: F-beta, accuracy_thresh, per-tag scores, by threshold
      history.csv        the refit's per-epoch curves
      summary.json       best trial, its value, trial counts, test scores, timings, serving
                         cost, model.onnx's agreement with model.pt on the test split
      report.html        one self-contained page: summary, plots, fit diagnosis, test scores
      run.log            what `hpsearch run` printed, each run of the directory after the last
      plots/             the report's figures as PNG files

Every file is written to a temporary name and renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict

from search.errors import RunDirError
from search.study.spec import dump_spec, parse_study_spec

if TYPE_CHECKING:
    from search.study.spec import StudySpec


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")  # newer files may say more


class TestScores(_Record):
    """The test split's headline scores: accuracy and macro F1, or for multi-label data
    F-beta and thresholded accuracy at the threshold the refit used."""

    __test__ = False  # a model, not a pytest test class

    loss: float
    accuracy: float | None = None
    macro_f1: float | None = None
    fbeta: float | None = None
    beta: float | None = None
    accuracy_thresh: float | None = None
    threshold: float | None = None

    @classmethod
    def of(cls, evaluation: Any) -> TestScores:
        """From trainable's Evaluation or MultiLabelEvaluation."""
        if getattr(evaluation, "kind", "") == "multilabel":
            return cls(
                loss=evaluation.loss,
                fbeta=evaluation.fbeta,
                beta=evaluation.beta,
                accuracy_thresh=evaluation.accuracy_thresh,
                threshold=evaluation.threshold,
            )
        return cls(loss=evaluation.loss, accuracy=evaluation.accuracy, macro_f1=evaluation.macro_f1)

    def line(self) -> str:
        if self.fbeta is not None:
            return (
                f"F{self.beta:g} {self.fbeta:.4f}, accuracy_thresh {self.accuracy_thresh:.4f} "
                f"at threshold {self.threshold:g}, loss {self.loss:.4f}"
            )
        return f"accuracy {self.accuracy:.4f}, macro F1 {self.macro_f1:.4f}, loss {self.loss:.4f}"


class DataInfo(_Record):
    """What the refit model was trained for; also in model.pt's metadata."""

    classes: list[str]  # class names, or tag names for multi-label data
    multilabel: bool = False
    image_size: int
    images: dict[str, int]  # train / val / test counts

    @classmethod
    def of(cls, splits: Any) -> DataInfo:
        """From trainable's Splits."""
        return cls(
            classes=list(splits.classes),
            multilabel=splits.multilabel,
            image_size=splits.image_size,
            images={"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
        )


class Summary(DataInfo):
    """summary.json: what a finished run found, in one small file."""

    study: str
    metric: str
    direction: str
    best_trial: int
    best_value: float
    best_params: dict[str, Any]
    trials: dict[str, int]  # state -> count
    refit_epochs: int
    test: TestScores
    seconds: dict[str, float]  # search, refit
    refit_placement: dict[str, str] = {}  # the Ray node and GPUs the refit ran on
    serving: dict[str, float] = {}  # the refitted backbone's params_m, macs_g, latency_ms, ...
    onnx: dict[str, float] = {}  # model.onnx against model.pt on the test split
    # search.select: race: each contender's search value, race runs and mean, the winner, and
    # whether it differs from the single best draw (search/selection/race.py); {} without a race
    race: dict[str, Any] = {}
    # search.budget's limits, what the search spent of each (trials, epochs, minutes,
    # GPU-hours) and which limit stopped it (search/budget/spend.py)
    budget: dict[str, Any] = {}
    # tracking.mlflow (search/tracking.py): the server (password masked), the experiment, the
    # study's parent run, the refit's run, the registered model's name, version and alias
    mlflow: dict[str, Any] = {}


RUN_LOG = "run.log"


class _Entry:
    """A file or folder of the run directory: `run.model` is `run.path / "model.pt"`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, run: RunDir, owner: type | None = None) -> Path:
        return run.path / self.name


@dataclass(frozen=True)
class RunDir:
    path: Path

    # What a finished run holds: the refit and its results are all there.
    FINISHED = ("best_config.yaml", "summary.json", "test_metrics.json", "model.pt")

    study_file = _Entry("study.yaml")
    optuna_db = _Entry("optuna.db")
    ray = _Entry("ray")
    trials_csv = _Entry("trials.csv")
    best_config_yaml = _Entry("best_config.yaml")
    best_config_json = _Entry("best_config.json")
    model = _Entry("model.pt")
    model_onnx = _Entry("model.onnx")
    test_metrics = _Entry("test_metrics.json")
    history = _Entry("history.csv")
    summary_file = _Entry("summary.json")
    report = _Entry("report.html")
    plots = _Entry("plots")
    lock = _Entry(".lock")  # held by the one `hpsearch run` working here (lock.py)
    run_log = _Entry(RUN_LOG)  # what `hpsearch run` printed, each run after the last

    def __str__(self) -> str:
        return str(self.path)

    def storage_url(self, spec: StudySpec) -> str:
        """The study's `storage:`, or the SQLite file in this directory."""
        return spec.storage or f"sqlite:///{self.optuna_db.resolve()}"

    def missing(self) -> list[str]:
        """The files of a finished run that are not here (none: the run finished)."""
        return [name for name in self.FINISHED if not (self.path / name).is_file()]

    def read_spec(self) -> StudySpec:
        """The resolved study this directory was made from."""

        if not self.study_file.is_file():
            raise RunDirError(
                f"{self.path} is not a run directory (no study.yaml); give the folder "
                "`hpsearch run` made, runs/<study name> by default"
            )
        raw = yaml.safe_load(self.study_file.read_text())
        return parse_study_spec(raw, source=str(self.study_file))

    def read_spec_dict(self) -> dict[str, Any] | None:
        """study.yaml as written, unvalidated (an older run may not parse any more)."""
        if not self.study_file.is_file():
            return None
        return yaml.safe_load(self.study_file.read_text()) or {}

    def write_spec(self, spec: StudySpec) -> None:

        write_text(self.study_file, dump_spec(spec))

    def read_summary(self) -> Summary | None:
        """The summary of a finished run; None while the run has not finished."""
        if self.missing():
            return None
        return Summary.model_validate_json(self.summary_file.read_text())

    def write_summary(self, summary: Summary) -> None:
        write_text(self.summary_file, summary.model_dump_json(indent=2) + "\n")

    def read_test_metrics(self) -> dict[str, Any] | None:
        path = self.test_metrics
        return json.loads(path.read_text()) if path.is_file() else None

    def read_history(self) -> list[dict[str, float]]:
        """The refit's per-epoch records (empty before the refit)."""
        import pandas as pd

        path = self.history
        return pd.read_csv(path).to_dict("records") if path.is_file() else []


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary name to write `path` under, renamed onto it when the block ends: a crash
    never leaves half a file. A write that fails (a full disk, a folder gone read-only) removes
    the temporary file and is one line; what is already there stays as it was."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield temporary
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise RunDirError(_unwritten(path, exc)) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _unwritten(path: Path, exc: OSError) -> str:
    why = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        return (
            f"no space left on the device writing {path}; free some and run again: finished "
            "trials are kept in the storage and the run resumes"
        )
    return f"{path} cannot be written ({why}); fix that and run again: finished trials are kept"


def write_text(path: Path, text: str) -> None:
    with replacing(path) as temporary:
        temporary.write_text(text)


def write_bytes(path: Path, data: bytes) -> None:
    with replacing(path) as temporary:
        temporary.write_bytes(data)


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")
