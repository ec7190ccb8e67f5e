"""`search.warm_start`: earlier studies' finished trials, added to today's study for the sampler.

Each earlier study is read before anything starts (`read_warm_starts`: one line for a study
that is not there, of another metric or direction, or whose space shares nothing with
today's). Its finished search trials are fitted to today's space (search/study/space.py:
numbers clipped into range, a trial whose choice today does not offer dropped), and enter the
study once (`add_warm_starts`), tagged `warm_start_from`: COMPLETE ones with their value, PRUNED
ones as pruned without their curves (another dataset's curves are nothing to prune by). They
count towards nothing the search counts and are never refitted; the sampler sees their values
by rank, on today's scale (search/engine/warm_view.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.study import StudyDirection
from optuna.trial import TrialState, create_trial
from pydantic import ValidationError

from search.echo import Echo
from search.errors import HPSearchError, StudySpecError
from search.rundir.layout import RunDir
from search.rundir.storage import open_storage
from search.start.settings import WarmSource
from search.study.space import distributions, fit_to_space
from search.study.spec import StudySpec
from search.trials.attrs import STUDY_SPEC, WARM_FROM, WARM_TRIAL
from search.trials.states import is_complete, is_pruned, search_trials, warm_trials
from search.urls import masked

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial


@dataclass(frozen=True)
class WarmBatch:
    """One earlier study's trials as today's study will hold them."""

    source: WarmSource
    trials: list[FrozenTrial]  # fitted, tagged, ready for study.add_trials
    clipped: int  # trials with a value clipped into today's space
    dropped: dict[str, int]  # why a trial was left out -> how many

    def line(self) -> str:
        parts = [f"{len(self.trials)} trials from {self.source.label}"]
        if self.clipped:
            parts.append(f"{self.clipped} clipped into today's space")
        if self.dropped:
            why = "; ".join(f"{n} because {reason}" for reason, n in self.dropped.items())
            parts.append(f"{sum(self.dropped.values())} dropped ({why})")
        return "warm start: " + ", ".join(parts)


def read_warm_starts(spec: StudySpec) -> list[WarmBatch]:
    """Every earlier study of search.warm_start, read and fitted; one line for each problem."""
    return [_batch(source, spec) for source in spec.search.warm_start]


def check_warm_start(source: WarmSource, spec: StudySpec | None) -> str | None:
    """One earlier study read as `read_warm_starts` reads it, its line; with no `spec` (a study
    file whose other fields are wrong) only whether it opens."""
    if spec is None:
        _open(source)
        return None
    return _batch(source, spec).line()


def add_warm_starts(study: optuna.Study, batches: list[WarmBatch], say: Echo) -> None:
    """Add what the study does not hold yet (a resumed run added the rest already)."""
    held = {(t.user_attrs[WARM_FROM], t.user_attrs[WARM_TRIAL]) for t in warm_trials(study)}
    for batch in batches:
        new = [
            t
            for t in batch.trials
            if (t.user_attrs[WARM_FROM], t.user_attrs[WARM_TRIAL]) not in held
        ]
        study.add_trials(new)
        say(batch.line() if new else f"warm start: {batch.source.label}, added before")


def warm_to_add(study: optuna.Study, spec: StudySpec) -> bool:
    """An earlier study of search.warm_start whose trials the study does not hold yet."""
    held = {t.user_attrs[WARM_FROM] for t in warm_trials(study)}
    return any(source.label not in held for source in spec.search.warm_start)


def _batch(source: WarmSource, spec: StudySpec) -> WarmBatch:
    earlier, earlier_spec = _open(source)
    _check_metric(source, earlier, earlier_spec, spec)
    space = distributions(spec)
    finished = [t for t in search_trials(earlier) if is_complete(t) or is_pruned(t)]
    searched = {name for t in finished for name in t.params}
    if not searched & set(space):
        theirs = ", ".join(sorted(searched)) or "nothing"
        raise StudySpecError(
            f"search.warm_start: {source.label} searched {theirs}, this study searches "
            f"{', '.join(space)}: nothing in common to learn from; drop it from search.warm_start"
        )
    held = earlier_spec.train_config().model_dump() if earlier_spec else {}
    trials, clipped, dropped = [], 0, Counter()
    for trial in finished:
        fitted, cut, refused = fit_to_space({**held, **trial.params}, space)
        if refused is not None:
            dropped[refused] += 1
            continue
        clipped += bool(cut)
        trials.append(_warm_trial(trial, fitted, space, source))
    return WarmBatch(source, trials, clipped, dict(dropped))


def _warm_trial(
    trial: FrozenTrial, params: dict[str, Any], space: dict[str, Any], source: WarmSource
) -> FrozenTrial:

    attrs = {WARM_FROM: source.label, WARM_TRIAL: trial.number}
    complete = is_complete(trial)
    return create_trial(
        state=TrialState.COMPLETE if complete else TrialState.PRUNED,
        value=trial.value if complete else None,
        params=params,
        distributions={name: space[name] for name in params},
        user_attrs=attrs,
    )


def _open(source: WarmSource) -> tuple[optuna.Study, StudySpec | None]:
    """The earlier study, and its study spec where known (a run directory's study.yaml, or
    the spec an hpsearch run keeps in its study's user attrs)."""

    if source.run_dir is not None:
        run = RunDir(Path(source.run_dir))
        if not run.path.is_dir():
            raise StudySpecError(f"search.warm_start: run directory {run} does not exist")
        try:
            spec = run.read_spec()
        except HPSearchError as exc:
            raise StudySpecError(f"search.warm_start: {exc}") from None
        url, name = run.storage_url(spec), spec.name
    else:
        spec, url, name = None, str(source.storage), str(source.study)
    storage = open_storage(url)
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        held = sorted(s.study_name for s in optuna.get_all_study_summaries(storage))
        listed = ", ".join(held[:10]) or "none"
        raise StudySpecError(
            f"search.warm_start: storage {masked(url)} has no study {name} (it holds: "
            f"{listed}); fix the name in search.warm_start"
        ) from None
    if spec is None and STUDY_SPEC in study.user_attrs:
        spec = _stored_spec(study.user_attrs[STUDY_SPEC])
    return study, spec


def _stored_spec(raw: Any) -> StudySpec | None:
    """The spec an hpsearch run stored with its study; None where it no longer validates."""

    try:
        return StudySpec.model_validate(raw)
    except ValidationError:
        return None


def _check_metric(
    source: WarmSource, earlier: optuna.Study, earlier_spec: StudySpec | None, spec: StudySpec
) -> None:
    """Values of another metric, or of the same one the other way round, teach nothing."""

    today = f"{spec.search.metric} ({spec.search.direction})"
    direction = "min" if earlier.direction == StudyDirection.MINIMIZE else "max"
    metric = earlier_spec.search.metric if earlier_spec is not None else None
    same = direction == spec.search.direction and metric in (None, spec.search.metric)
    if not same:
        theirs = f"{metric} ({direction})" if metric else f"a metric to {direction}imize"
        raise StudySpecError(
            f"search.warm_start: {source.label} searched {theirs}, this study {today}: a warm "
            "start needs studies of the same metric; drop it from search.warm_start"
        )


__all__ = ["WarmBatch", "add_warm_starts", "read_warm_starts", "warm_to_add"]
