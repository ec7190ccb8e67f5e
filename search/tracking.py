"""A study in MLflow (`tracking: {mlflow: URI}`): one parent run for the study, a child run for
each trial as it finishes and one for the refit, and the refitted model registered.

Every MLflow call is the driver's, none a Ray worker's: the trials are read back from the
Optuna storage, where the searcher already wrote them, so what MLflow shows is what the study
holds, states and all. A trial is sent once: the parent run's id is kept in the study (user
attr `mlflow`, by server), each child run carries its trial's number, and a sync sends the finished
trials that have no finished child run yet, which is also how a resumed study, an MLflow
server that was down, and `hpsearch track RUN_DIR` catch up.

An MLflow that fails or does not answer is one warning line, and the search goes on: its calls
wait HPSEARCH_CONNECT_SECONDS at most, and are not retried until the next sync.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any

from optuna.trial import FrozenTrial, TrialState

from search.deadlines import connect_seconds
from search.echo import Echo
from search.errors import HPSearchError, first_line
from search.rundir.storage import expanded
from search.trials.attrs import (
    FAIL_REASON,
    INFEASIBLE,
    MLFLOW,
    PORTFOLIO,
    RACE_OF,
    RACE_RUN,
    RETRY_OF,
    STOPPED,
    WARM_FROM,
    WARM_TRIAL,
)
from search.trials.curves import records_of
from search.trials.states import state_name
from search.urls import masked

if TYPE_CHECKING:
    import optuna
    from mlflow import MlflowClient

    from search.rundir.layout import RunDir, Summary
    from search.study.spec import StudySpec

SYNC_SECONDS = 5.0  # how often the driver sends the trials finished since
TRIAL_TAG = "hpsearch.trial"  # a child run's trial number
REFIT_TAG = "hpsearch.refit_of"  # the refit's child run: the number of the trial it refitted
STATUS = {TrialState.COMPLETE: "FINISHED", TrialState.PRUNED: "KILLED", TrialState.FAIL: "FAILED"}
# What a child run's tags say of its trial, from the trial's user attrs.
ATTR_TAGS = {
    FAIL_REASON: "hpsearch.fail_reason",
    INFEASIBLE: "hpsearch.infeasible",
    STOPPED: "hpsearch.stopped",
    RACE_OF: "hpsearch.race_of",
    RACE_RUN: "hpsearch.race_run",
    RETRY_OF: "hpsearch.retry_of",
    WARM_FROM: "hpsearch.warm_start_from",
    WARM_TRIAL: "hpsearch.warm_start_trial",
    PORTFOLIO: "hpsearch.portfolio",
}
KIND_TAG = "mlflow.experimentKind"  # what MLflow's UI shows first for an experiment
MAX_PARAM = 6000  # MLflow's longest parameter value


class TrackingError(HPSearchError):
    """`hpsearch track`: MLflow could not take the run."""


def mlflow_module() -> Any:
    """mlflow, its HTTP calls bounded: one try, HPSEARCH_CONNECT_SECONDS (its defaults: seven
    retries with backoff, two minutes each); no usage data sent, and quiet: no link printed
    for each run it ends, no progress bars, no INFO lines between the study's own."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(math.ceil(connect_seconds())))
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        import mlflow
    except ImportError:
        raise TrackingError(
            "tracking.mlflow needs MLflow, which is not installed: pip install 'hpsearch[mlflow]'"
        ) from None
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    return mlflow


def tracking_uri(written: str) -> str:
    """The MLflow URI as written, its ${VAR}s read; MLflow installed."""
    import importlib.util

    uri = expanded(written, "tracking.mlflow.uri")
    if importlib.util.find_spec("mlflow") is None:
        raise TrackingError(
            "tracking.mlflow needs MLflow, which is not installed: pip install 'hpsearch[mlflow]'"
        )
    return uri


def registered(summary: Summary) -> str:
    """`model NAME version N (@alias)`: what the refit became in MLflow's registry."""
    sent = summary.mlflow
    alias = f" (@{sent['alias']})" if sent.get("alias") else ""
    return f"model {sent['model']} version {sent['version']}{alias}"


class Tracker:
    """The study's runs in one MLflow experiment, sent from the driver."""

    def __init__(
        self,
        spec: StudySpec,
        study: optuna.Study,
        storage_url: str,
        echo: Echo,
        uri: str | None = None,
    ) -> None:
        target = spec.tracking.mlflow if spec.tracking is not None else None
        written = uri or (target.uri if target is not None else None)
        if written is None:
            raise TrackingError(
                "no MLflow to send to: give --mlflow URI, or tracking: {mlflow: URI} in the "
                "study file"
            )
        self.uri = tracking_uri(written)
        self.shown = masked(self.uri)
        self.experiment = (target.experiment if target else None) or spec.name
        self.model = (target.model if target else None) or spec.name
        self.alias = target.alias if target else None
        self.spec, self.study, self.storage, self.echo = spec, study, masked(storage_url), echo
        self.down: str | None = None  # why the last call failed, said once
        self._client: MlflowClient | None = None
        self._experiment_id: str | None = None
        self._parent: str | None = None
        self._sent: set[int] | None = None  # trials with a finished child run
        self.sent_now = 0  # child runs this tracker made
        self._lock = threading.Lock()

    # The calls, each failure one line.
    def sync(self) -> bool:
        """Send every finished trial not sent yet; False if MLflow failed (said once)."""

        def work() -> bool:
            self._sync()
            return True

        return self._guarded(work) is not None

    def finish(self, folder: RunDir, summary: Summary | None) -> Summary | None:
        """The last trials, the refit's run and its registered model (once per refit), the
        parent run ended; the summary with what MLflow holds, None if it failed."""

        def work() -> Summary | None:
            self._sync()
            tracked = self._refit(folder, summary) if summary is not None else None
            self.client.set_terminated(self.parent(), "FINISHED" if summary else "KILLED")
            return tracked

        return self._guarded(work)

    @contextmanager
    def syncing(self) -> Iterator[Tracker]:
        """Sync every SYNC_SECONDS in a thread of the driver while the search runs."""
        stop = threading.Event()

        def loop() -> None:
            self.sync()
            while not stop.wait(SYNC_SECONDS):
                self.sync()

        thread = threading.Thread(target=loop, name="mlflow-sync", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(timeout=2 * connect_seconds() + SYNC_SECONDS)

    def _guarded(self, work: Any) -> Any:
        """What `work` returns, or None where MLflow failed (said once, until it answers)."""
        mlflow = mlflow_module()
        with self._lock:
            try:
                result = work()
            # Whatever MLflow's client raises (an HTTP error, a connection, a server that
            # answers but is not MLflow): the study's work is never lost to its tracking.
            except Exception as exc:
                expected = isinstance(exc, (mlflow.exceptions.MlflowException, OSError))
                reason = first_line(exc, type(exc).__name__)[:300]
                if not expected:
                    reason = f"{type(exc).__name__}: {reason}"
                if self.down is None:
                    self.echo(
                        f"tracking: MLflow at {self.shown} failed ({reason}); the search goes "
                        "on, and `hpsearch track RUN_DIR` sends what is missing later"
                    )
                self.down = reason
                return None
        if self.down is not None:
            self.echo(f"tracking: MLflow at {self.shown} answers again")
            self.down = None
        return result

    # MLflow's side.
    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            mlflow = mlflow_module()
            self._client = mlflow.MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        return self._client

    def experiment_id(self) -> str:
        """The experiment, made where missing, shown by MLflow's UI as model training (not as
        the GenAI tracing it opens by default)."""
        if self._experiment_id is None:
            found = self.client.get_experiment_by_name(self.experiment)
            if found is None:
                kind = {KIND_TAG: "custom_model_development"}
                self._experiment_id = self.client.create_experiment(self.experiment, tags=kind)
            else:
                self._experiment_id = found.experiment_id
        return self._experiment_id

    def parent(self) -> str:
        """The study's run: the one the study names for this server, else a new one."""
        if self._parent is not None:
            return self._parent
        servers = self.study.user_attrs.get(MLFLOW) or {}
        kept = servers.get(self.shown) or {}
        if kept.get("run_id"):
            with suppress(self._mlflow_error()):
                run = self.client.get_run(kept["run_id"])
                if run.info.lifecycle_stage == "active":
                    self._experiment_id = run.info.experiment_id
                    self.client.update_run(run.info.run_id, status="RUNNING")
                    self._parent = run.info.run_id
                    self._settings_now(run.data.params)
                    return self._parent
        run = self.client.create_run(
            self.experiment_id(),
            run_name=self.spec.name,
            tags={
                "hpsearch.study": self.spec.name,
                "hpsearch.storage": self.storage,
                "hpsearch.version": _version(),
            },
        )
        self._log(run.info.run_id, params=_settings(self.spec))
        here = {"experiment_id": self.experiment_id(), "run_id": run.info.run_id}
        self.study.set_user_attr(MLFLOW, {**servers, self.shown: here})
        self._parent = run.info.run_id
        return self._parent

    def _settings_now(self, logged: dict[str, str]) -> None:
        """A study resumed with other settings (more trials, a budget): parameters cannot
        change in MLflow, so each changed one is a tag `now.KEY`."""
        for key, value in _settings(self.spec).items():
            if key in logged and logged[key] != value:
                self.client.set_tag(self._parent, f"now.{key}", value)

    def sent(self) -> set[int]:
        """The trials that have a finished child run; one left unfinished (the driver died
        while sending it) is deleted, to be sent again whole."""
        if self._sent is None:
            sent = set()
            for run in self._children():
                number = run.data.tags.get(TRIAL_TAG)
                if number is None:
                    continue
                if run.info.status == "RUNNING":
                    self.client.delete_run(run.info.run_id)
                else:
                    sent.add(int(number))
            self._sent = sent  # only once MLflow answered
        return self._sent

    def _children(self) -> list[Any]:
        runs, token = [], None
        while True:
            page = self.client.search_runs(
                [self.experiment_id()],
                filter_string=f"tags.mlflow.parentRunId = '{self.parent()}'",
                max_results=1000,
                page_token=token,
            )
            runs += list(page)
            token = page.token
            if not token:
                return runs

    def _sync(self) -> None:
        sent = self.sent()
        states = tuple(STATUS)
        for trial in self.study.get_trials(deepcopy=False, states=states):
            if trial.number not in sent:
                self._send(trial)
                sent.add(trial.number)
                self.sent_now += 1

    def _send(self, trial: FrozenTrial) -> None:
        attrs = trial.user_attrs
        tags = {
            "mlflow.parentRunId": self.parent(),
            TRIAL_TAG: str(trial.number),
            "hpsearch.state": state_name(trial),
        }
        tags.update({tag: str(attrs[a])[:5000] for a, tag in ATTR_TAGS.items() if a in attrs})
        records = records_of(trial)
        if trial.state == TrialState.PRUNED and records:
            tags["hpsearch.pruned_at_epoch"] = str(int(records[-1]["epoch"]))
        name = (
            f"race: trial {attrs[RACE_OF]} run {attrs[RACE_RUN]}"
            if RACE_OF in attrs
            else f"trial {trial.number}"
        )
        run = self.client.create_run(
            self.experiment_id(), start_time=_ms(trial.datetime_start), tags=tags, run_name=name
        )
        when = _ms(trial.datetime_complete)
        metrics = [
            (key, value, when, int(record["epoch"]))
            for record in records
            for key, value in record.items()
            if key != "epoch" and _number(value)
        ]
        if trial.value is not None and _number(trial.value):
            metrics.append(("value", trial.value, when, 0))
        self._log(run.info.run_id, params=dict(trial.params), metrics=metrics)
        self.client.set_terminated(run.info.run_id, STATUS[trial.state], end_time=when)

    def _refit(self, folder: RunDir, summary: Summary) -> Summary:
        """The refit's child run (test scores, its curve, the run directory's files) and the
        model registered; summary.json keeps the ids. Done once per refit and server."""
        done = summary.mlflow
        if done.get("uri") == self.shown and done.get("refit_of") == summary.best_trial:
            return summary
        trial = str(summary.best_trial)
        for sent in self._children():  # sent before to this server (summary.json says another)
            if sent.data.tags.get(REFIT_TAG) == trial and sent.info.status == "FINISHED":
                return summary
        run = self.client.create_run(
            self.experiment_id(),
            run_name=f"refit of trial {summary.best_trial}",
            tags={"mlflow.parentRunId": self.parent(), REFIT_TAG: str(summary.best_trial)},
        )
        run_id = run.info.run_id
        config = _read_json(folder.best_config_json)
        scores = summary.test.model_dump(exclude_none=True)
        metrics = [(f"test_{k}", v, _ms(None), 0) for k, v in scores.items() if _number(v)]
        metrics += [
            (key, value, _ms(None), int(record["epoch"]))
            for record in folder.read_history()
            for key, value in record.items()
            if key != "epoch" and _number(value)
        ]
        self._log(run_id, params=config, metrics=metrics)
        for path in (
            folder.best_config_yaml,
            folder.best_config_json,
            folder.summary_file,
            folder.report,
            folder.trials_csv,
            folder.history,
        ):
            if path.is_file():
                self.client.log_artifact(run_id, str(path))
        version = self._register(run_id, folder, summary)
        self.client.set_terminated(run_id, "FINISHED")
        record = {
            "uri": self.shown,
            "experiment_id": self.experiment_id(),
            "run_id": self.parent(),
            "refit_run_id": run_id,
            "refit_of": summary.best_trial,
            "model": self.model,
            "version": version,
            "alias": self.alias,
        }
        updated = summary.model_copy(update={"mlflow": record})
        folder.write_summary(updated)
        return updated

    def _register(self, run_id: str, folder: RunDir, summary: Summary) -> int:
        """model.onnx as an MLflow ONNX model taking raw uint8 images of any size, with
        best_config.json beside it, as a new version of the registered model."""
        import numpy as np
        import onnx
        from mlflow.models import ModelSignature
        from mlflow.types import Schema, TensorSpec

        from trainable.export import INPUT, OUTPUT

        mlflow = mlflow_module()
        signature = ModelSignature(
            inputs=Schema([TensorSpec(np.dtype(np.uint8), (-1, 3, -1, -1), INPUT)]),
            outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, len(summary.classes)), OUTPUT)]),
        )
        mlflow.set_tracking_uri(self.uri)
        with mlflow.start_run(run_id=run_id, nested=True):
            info = mlflow.onnx.log_model(
                onnx.load(str(folder.model_onnx)),
                name="model",
                signature=signature,
                extra_files=[str(folder.best_config_json)],
                metadata={"classes": list(summary.classes), "image_size": summary.image_size},
            )
        with suppress(mlflow.exceptions.RestException):  # it exists: a new version of it
            self.client.create_registered_model(self.model)
        tags = {"hpsearch.study": summary.study, TRIAL_TAG: str(summary.best_trial)}
        created = self.client.create_model_version(
            self.model, info.model_uri, run_id=run_id, tags=tags, model_id=info.model_id
        )
        version = int(created.version)
        if self.alias is not None:
            self.client.set_registered_model_alias(self.model, self.alias, str(version))
        return version

    def _log(
        self,
        run_id: str,
        params: dict[str, Any] | None = None,
        metrics: list[tuple[str, float, int, int]] | None = None,
    ) -> None:
        from mlflow.entities import Metric, Param

        entries = [Param(k, _text(v)) for k, v in (params or {}).items()]
        for start in range(0, len(entries), 100):  # MLflow's most params a batch
            self.client.log_batch(run_id, params=entries[start : start + 100])
        points = [Metric(k, float(v), t, s) for k, v, t, s in metrics or []]
        for start in range(0, len(points), 1000):  # and most metrics
            self.client.log_batch(run_id, metrics=points[start : start + 1000])

    @staticmethod
    def _mlflow_error() -> type[Exception]:
        return mlflow_module().exceptions.MlflowException


def _settings(spec: StudySpec) -> dict[str, str]:
    """The study file as flat parameters: space.lr, fixed.epochs, data.root, search.budget..."""
    raw = spec.model_dump(mode="json", exclude={"storage", "tracking"})
    flat: dict[str, str] = {}
    for section, value in raw.items():
        if isinstance(value, dict) and section != "space":
            for key, inner in value.items():
                flat[f"{section}.{key}"] = _text(inner)
        elif isinstance(value, dict):  # each searched parameter's range, one parameter
            for key, inner in value.items():
                flat[f"space.{key}"] = _text(inner)
        else:
            flat[section] = _text(value)
    return flat


def _text(value: Any) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:MAX_PARAM]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _ms(when: datetime | None) -> int:
    return int((when or datetime.now()).timestamp() * 1000)


def _read_json(path: Any) -> dict[str, Any]:
    import json

    return json.loads(path.read_text()) if path.is_file() else {}


def _version() -> str:
    from search import __version__

    return __version__


__all__ = [
    "SYNC_SECONDS",
    "Tracker",
    "TrackingError",
    "mlflow_module",
    "registered",
    "tracking_uri",
]
