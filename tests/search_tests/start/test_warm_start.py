"""search.warm_start: earlier studies read, fitted to today's space, added once, and seen by
the sampler by rank. Earlier studies are real run directories and storages, filled by hand."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from search.engine.optuna_study import open_study
from search.engine.warm_view import on_todays_scale
from search.errors import StudySpecError
from search.rundir.layout import RunDir
from search.rundir.storage import open_storage
from search.start.warm_start import add_warm_starts, read_warm_starts
from search.study.space import fit_to_space
from search.study.spec import parse_study_spec
from search.trials.attrs import WARM_FROM, WARM_TRIAL
from search.trials.states import complete_trials, finished_count, search_trials, warm_trials
from tests.search_tests.helpers import tiny_study

LR = {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}
BATCH = {"type": "categorical", "choices": [16, 32]}


def earlier_run(folder: Path, name: str, values: list[tuple[float, int, float | None]], **raw):
    """A run directory whose study holds trials (lr, batch_size, value; None: pruned)."""
    raw = {"fixed": {"epochs": 2}, **raw}
    spec = parse_study_spec(tiny_study(name=name, space={"lr": LR, "batch_size": BATCH}, **raw))
    run = RunDir(folder / name)
    run.write_spec(spec)
    study = open_study(spec, open_storage(run.storage_url(spec))).study
    space = {"lr": FloatDistribution(1e-4, 1e-2, log=True), "batch_size": BATCH_DIST}
    for lr, batch, value in values:
        state = TrialState.PRUNED if value is None else TrialState.COMPLETE
        study.add_trial(
            create_trial(
                state=state,
                value=value,
                params={"lr": lr, "batch_size": batch},
                distributions=space,
            )
        )
    return run


BATCH_DIST = CategoricalDistribution([16, 32])


def today(**search):
    raw = tiny_study(
        space={
            "lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True},
            "dropout": {"type": "float", "low": 0.0, "high": 0.5},
            "batch_size": {"type": "categorical", "choices": [32, 64]},
        },
        fixed={"epochs": 2},
        search={"trials": 4, **search},
    )
    return parse_study_spec(raw)


def test_fitting_clips_numbers_and_refuses_choices_today_lacks() -> None:
    space = {
        "lr": FloatDistribution(1e-3, 1e-2, log=True),
        "dropout": FloatDistribution(0.0, 0.5, step=0.1),
        "batch_size": CategoricalDistribution([32, 64]),
    }
    assert fit_to_space({"lr": 5e-4, "dropout": 0.23, "other": 1}, space) == (
        {"lr": 1e-3, "dropout": pytest.approx(0.2)},
        ["lr", "dropout"],
        None,
    )
    assert fit_to_space({"lr": 2e-3, "batch_size": 32}, space) == (
        {"lr": 2e-3, "batch_size": 32},
        [],
        None,
    )
    params, _, refused = fit_to_space({"batch_size": 16}, space)
    assert params == {} and refused == "batch_size 16 is not among today's choices"


def test_an_earlier_run_enters_once_fitted_tagged_and_counted_apart(tmp_path) -> None:
    earlier = earlier_run(
        tmp_path, "digits", [(5e-4, 32, 0.3), (2e-3, 32, 0.2), (3e-3, 16, 0.25), (4e-3, 32, None)]
    )
    spec = today(warm_start=str(earlier.path))
    batches = read_warm_starts(spec)
    (batch,) = batches
    # lr 5e-4 clipped up to 1e-3; batch_size 16 is no choice today: dropped; the pruned kept.
    assert len(batch.trials) == 3 and batch.clipped == 1
    assert batch.line() == (
        f"warm start: 3 trials from {earlier.path}, 1 clipped into today's space, 1 dropped "
        "(1 because batch_size 16 is not among today's choices)"
    )
    url = f"sqlite:///{tmp_path / 'today.db'}"
    study = open_study(spec, open_storage(url)).study
    lines: list[str] = []
    add_warm_starts(study, batches, lines.append)
    add_warm_starts(study, read_warm_starts(spec), lines.append)  # a resumed run: no doubles
    warm = warm_trials(study)
    assert len(warm) == 3 and lines[1] == f"warm start: {earlier.path}, added before"
    assert {t.user_attrs[WARM_TRIAL] for t in warm} == {0, 1, 3}
    assert all(t.user_attrs[WARM_FROM] == str(earlier.path) for t in warm)
    assert {t.state for t in warm} == {TrialState.COMPLETE, TrialState.PRUNED}
    assert all(not t.intermediate_values for t in warm)  # no curves to prune by
    # They are the sampler's, not the search's: nothing counts them, nothing refits them.
    assert search_trials(study) == [] and complete_trials(study) == []
    assert finished_count(study) == 0


def test_a_storage_and_study_name_warm_start_too(tmp_path) -> None:
    earlier = earlier_run(tmp_path, "shapes", [(2e-3, 32, 0.2)])
    url = earlier.storage_url(earlier.read_spec())
    (batch,) = read_warm_starts(today(warm_start={"storage": url, "study": "shapes"}))
    assert len(batch.trials) == 1 and batch.source.label == f"study shapes in {url}"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            lambda tmp: str(tmp / "nowhere"),
            "search.warm_start: run directory {tmp}/nowhere does not exist",
        ),
        (lambda tmp: str(tmp), "search.warm_start: {tmp} is not a run directory (no study.yaml)"),
        (
            lambda tmp: {"storage": f"sqlite:///{tmp}/digits/optuna.db", "study": "digitz"},
            "has no study digitz (it holds: digits); fix the name in search.warm_start",
        ),
    ],
)
def test_a_warm_start_that_is_not_there_is_one_line(tmp_path, source, message) -> None:
    earlier_run(tmp_path, "digits", [(2e-3, 32, 0.2)])
    with pytest.raises(StudySpecError) as error:
        read_warm_starts(today(warm_start=source(tmp_path)))
    assert message.format(tmp=tmp_path) in str(error.value)


def test_a_study_of_another_metric_or_no_common_parameter_is_refused(tmp_path) -> None:
    other = earlier_run(tmp_path, "acc", [(2e-3, 32, 0.9)], search={"metric": "val_accuracy"})
    with pytest.raises(StudySpecError, match=r"searched val_accuracy \(max\), this study val_loss"):
        read_warm_starts(today(warm_start=str(other.path)))
    earlier = earlier_run(tmp_path, "digits", [(2e-3, 32, 0.2)])
    raw = tiny_study(
        space={"dropout": {"type": "float", "low": 0.0, "high": 0.5}},
        search={"warm_start": str(earlier.path)},
    )
    with pytest.raises(
        StudySpecError,
        match="searched batch_size, lr, this study searches dropout: nothing in common",
    ):
        read_warm_starts(parse_study_spec(raw))


def test_what_the_earlier_study_held_fills_what_today_searches(tmp_path) -> None:
    """The earlier study held dropout at 0.4: today, which searches it, learns that value."""
    earlier = earlier_run(tmp_path, "held", [(2e-3, 32, 0.2)], fixed={"epochs": 2, "dropout": 0.4})
    (batch,) = read_warm_starts(today(warm_start=str(earlier.path)))
    assert batch.trials[0].params == {"lr": 2e-3, "dropout": 0.4, "batch_size": 32}


def warm(number: int, value: float, source: str = "a") -> optuna.trial.FrozenTrial:
    trial = create_trial(value=value, user_attrs={WARM_FROM: source, WARM_TRIAL: number})
    trial.number = number
    return trial


def own(number: int, value: float) -> optuna.trial.FrozenTrial:
    trial = create_trial(value=value)
    trial.number = number
    return trial


def test_the_sampler_sees_each_earlier_study_by_rank_on_todays_scale() -> None:
    # Study a's losses are tiny, b's large: by value, all of a would look better than today.
    trials = [warm(0, 0.01), warm(1, 0.03), warm(2, 0.02), warm(3, 3.0, "b"), warm(4, 1.0, "b")]
    trials += [own(5, 0.5), own(6, 0.9)]
    shown = {t.number: t.value for t in on_todays_scale(trials, minimize=True)}
    assert shown[0] == shown[4] == 0.5  # each study's best beside today's best
    assert shown[1] == shown[3] == 0.9  # each study's worst beside today's worst
    assert shown[2] == pytest.approx(0.7)  # a's median, today's median
    assert shown[5] == 0.5 and shown[6] == 0.9 and trials[0].value == 0.01  # copies
    early = {t.number: t.value for t in on_todays_scale(trials[:5], minimize=True)}
    assert early == {0: 0.0, 1: 1.0, 2: 0.5, 3: 1.0, 4: 0.0}  # no scale yet: rank alone


def test_a_warm_started_sampler_starts_where_the_earlier_study_did_well(tmp_path) -> None:
    """The first TPE draws of a warm-started study sit near the earlier study's best lr."""
    good = [(9e-3, 32, 0.1 + i * 0.001) for i in range(6)]
    bad = [(1.2e-3 + i * 1e-4, 32, 2.0 + i * 0.1) for i in range(14)]
    earlier = earlier_run(tmp_path, "digits", good + bad)
    lrs = {}
    for name, sources in (("cold", []), ("warm", [str(earlier.path)])):
        spec = today(warm_start=sources, sampler={"startup_trials": 4})
        study = open_study(spec, open_storage(f"sqlite:///{tmp_path / name}.db")).study
        add_warm_starts(study, read_warm_starts(spec), lambda line: None)
        from search.study.space import distributions

        lrs[name] = [study.ask(distributions(spec)).params["lr"] for _ in range(4)]
    assert sum(lr > 6e-3 for lr in lrs["warm"]) >= 2
    assert sum(lr > 6e-3 for lr in lrs["warm"]) > sum(lr > 6e-3 for lr in lrs["cold"])


def test_median_and_percentile_pruners_count_no_warm_trial_towards_their_startup() -> None:
    """Three earlier studies' trials would take a median pruner past its startup trials and
    prune today's third trial on the strength of two curves; the view hides them."""
    from optuna.distributions import FloatDistribution
    from optuna.pruners import MedianPruner, PercentilePruner
    from optuna.trial import create_trial

    from search.engine.warm_view import warm_pruner
    from search.trials.attrs import WARM_FROM, WARM_TRIAL

    lr = {"lr": FloatDistribution(1e-4, 1e-1)}
    study = optuna.create_study()
    for number in range(3):  # warm trials: values, no curves
        study.add_trial(
            create_trial(
                params={"lr": 0.01},
                distributions=lr,
                value=0.1,
                user_attrs={WARM_FROM: "earlier", WARM_TRIAL: number},
            )
        )
    for _ in range(2):
        own = study.ask(lr)
        own.report(0.5, 1)
        study.tell(own, 0.5)
    worse = study.ask(lr)
    worse.report(0.9, 1)
    for base in (MedianPruner(n_startup_trials=3), PercentilePruner(50.0, n_startup_trials=3)):
        assert base.prune(study, study.trials[-1])  # counting the warm trials: pruned
        assert not warm_pruner(base).prune(study, study.trials[-1])  # two of today's: not yet
