"""Ray Tune wiring: start or join Ray, open the Optuna study, run trials until the study is done."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from search.engine.searcher import LiveTrials, OptunaSearcher
from search.engine.strategies import make_pruner, make_sampler, max_epochs
from search.engine.trial_attrs import FAIL_REASON, INTERRUPTED
from search.errors import ClusterError
from search.study.space import distributions
from search.study.spec import StudySpec

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial
    from ray import ObjectRef

    from trainable import Splits


@dataclass(frozen=True)
class SearchOutcome:
    finished: int  # complete + pruned, in the whole study
    failed: int  # failed by themselves (interrupted ones excluded)
    over_failure_budget: bool
    interrupted: list[int]  # trials that were running when the search stopped early


def open_study(spec: StudySpec, storage: optuna.storages.BaseStorage) -> optuna.Study:
    """Create the study, or load it to resume or extend; a new sampler seed on each reopening."""
    import optuna

    summary = next(
        (s for s in optuna.get_all_study_summaries(storage) if s.study_name == spec.name), None
    )
    return optuna.create_study(
        study_name=spec.name,
        storage=storage,
        sampler=make_sampler(spec.search, spec.search.seed + (summary.n_trials if summary else 0)),
        pruner=make_pruner(spec.search.pruner, max_epochs(spec)),
        direction="minimize" if spec.search.direction == "min" else "maximize",
        load_if_exists=True,
    )


def fail_interrupted(study: optuna.Study) -> list[int]:
    """Trials left RUNNING by a search that died: tell FAIL, so nothing misleads the sampler."""
    from optuna.trial import TrialState

    numbers = []
    for frozen in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        # No public setter takes a trial number; the storage call is what Trial.set_user_attr does.
        study._storage.set_trial_user_attr(frozen._trial_id, FAIL_REASON, INTERRUPTED)
        study.tell(frozen.number, state=TrialState.FAIL)
        numbers.append(frozen.number)
    return numbers


def _check_answers(address: str | None, seconds: float = 5.0) -> None:
    """ray.init waits minutes on an address where nothing listens; one TCP connect tells now."""
    import socket

    if address is None or address == "auto":
        return  # Ray itself answers at once for these
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(
            f"ray.address must be auto, host:port or ray://host:port, got {address!r}"
        )
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except OSError as exc:
        raise ClusterError(
            f"ray.address {address!r} does not answer ({exc.strerror or exc}); start the "
            "cluster (ray start --head) or set ray.address: null to run here"
        ) from None


@contextmanager
def _native_stderr_aside() -> Iterator[None]:
    """Ray's C++ client writes straight to file descriptor 2, once a second while it retries
    an address where something else listens; our one-line error says it all."""
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def start_ray(spec: StudySpec, verbose: bool) -> None:
    import ray

    _check_answers(spec.ray.address)  # even when Ray runs already: a bad address is a mistake
    if ray.is_initialized():
        return
    if not verbose:
        # Ray enables token authentication for the cluster it starts and says so at WARNING
        # level on every start; the default is right, the line is noise.
        logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(
            logging.ERROR
        )
    try:
        with nullcontext() if verbose else _native_stderr_aside():
            ray.init(
                address=spec.ray.address,
                include_dashboard=False,
                log_to_driver=verbose,
                logging_level=logging.INFO if verbose else logging.WARNING,
            )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if spec.ray.address is None:
            raise ClusterError(
                f"Ray could not start on this machine ({reason}); "
                "run with --verbose to see Ray's log"
            ) from None
        raise ClusterError(
            f"ray.address {spec.ray.address!r} does not answer ({reason}); "
            "start the cluster (ray start --head) or set ray.address: null to run here"
        ) from None


class _DropRayMessagesWeReplace(logging.Filter):
    """Ray's closing lines: the failed-trial list (our progress lines gave each, with its
    reason) and, after Ctrl-C, advice to resume with Tuner.restore (here one resumes by
    running the same command again, which we say)."""

    REPLACED = (
        "Trials did not complete",
        "Experiment has been interrupted",
        "Stop signal received",
        "Failed to fetch metrics",  # trials stopped before their first report
    )

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.REPLACED)


def _quiet_ray(verbose: bool) -> None:
    """One line a trial from us instead of Ray's tables and tracebacks, unless --verbose."""
    # The legacy reporter at verbose=0 prints nothing; the new one always prints a header.
    os.environ["RAY_AIR_NEW_OUTPUT"] = "1" if verbose else "0"
    # Tracebacks stay in each trial's error.txt, which the FAIL line points to.
    os.environ["TUNE_PRINT_ALL_TRIAL_ERRORS"] = "1" if verbose else "0"
    for name in ("ray.tune.tune", "ray.tune.analysis.experiment_analysis"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropRayMessagesWeReplace) for f in logger.filters):
            logger.addFilter(_DropRayMessagesWeReplace())


def run_search(
    spec: StudySpec,
    run_dir: Path,
    splits: Splits | ObjectRef,
    study: optuna.Study,
    *,
    on_finish: Callable[[optuna.Study, FrozenTrial], None] | None = None,
    verbose: bool = False,
) -> SearchOutcome:
    """Run trials until the study holds `search.trials` finished ones (or too many failed).

    Trials still running when Ray stops (Ctrl-C) are told FAIL as interrupted and reported.
    """
    fail_interrupted(study)  # left RUNNING by a run that was killed
    live = LiveTrials()
    searcher = OptunaSearcher(
        study,
        distributions(spec),
        live,
        metric=spec.search.metric,
        target=spec.search.trials,
        failure_budget=spec.search.failure_budget,
        retries=spec.search.retries,
        on_finish=on_finish,
    )
    if searcher.finished < spec.search.trials and not searcher.over_failure_budget:
        _fit(spec, run_dir, splits, searcher, live, verbose)
    return SearchOutcome(
        finished=searcher.finished,
        failed=searcher.failed,
        over_failure_budget=searcher.over_failure_budget,
        interrupted=fail_interrupted(study),
    )


def _fit(
    spec: StudySpec,
    run_dir: Path,
    splits: Splits | ObjectRef,
    searcher: OptunaSearcher,
    live: LiveTrials,
    verbose: bool,
) -> None:
    from ray import tune

    from search.engine.objective import objective

    _quiet_ray(verbose)
    from search.engine.scheduler import OptunaPruningScheduler

    resources = {"cpu": spec.resources.cpus_per_trial, "gpu": spec.resources.gpus_per_trial}
    trainable = tune.with_resources(
        tune.with_parameters(
            objective, splits=splits, base=spec.base_config(), cpus=spec.resources.cpus_per_trial
        ),
        resources,
    )
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=OptunaPruningScheduler(live, spec.search.metric),
            num_samples=-1,  # the searcher says when the study is done
            max_concurrent_trials=spec.search.concurrency,
            reuse_actors=True,  # ~5x less overhead per short trial
        ),
        run_config=tune.RunConfig(
            name="ray",
            storage_path=str((run_dir).resolve()),
            verbose=2 if verbose else 0,
            failure_config=tune.FailureConfig(max_failures=0),
        ),
    )
    # Ray installs a SIGINT handler for the search and leaves it behind: restored, so Ctrl-C
    # during the refit interrupts it instead of setting an event nobody watches.
    previous = signal.getsignal(signal.SIGINT)
    try:
        tuner.fit()
    finally:
        signal.signal(signal.SIGINT, previous)
