"""search.start: portfolio: the built-in fine-tuning configurations, fitted to a study's space
and queued as its first trials."""

from __future__ import annotations

import typing

from search.engine.optuna_study import open_study
from search.rundir.storage import open_storage
from search.start.portfolio import PORTFOLIO_ENTRIES, enqueue_portfolio, portfolio
from search.start.settings import StartName
from search.start.starts import STARTS, add_starts
from search.study.space import distributions
from search.study.spec import parse_study_spec
from search.trials.attrs import PORTFOLIO
from tests.search_tests.helpers import tiny_study


def spec_of(space: dict, trials: int = 12, start: str = "portfolio"):
    return parse_study_spec(
        tiny_study(space=space, fixed={"epochs": 2}, search={"trials": trials, "start": start})
    )


LR = {"type": "float", "low": 1e-4, "high": 1e-1, "log": True}


def test_only_what_the_study_searches_is_taken_clipped_and_once() -> None:
    spec = spec_of(
        {"lr": {"type": "float", "low": 2e-3, "high": 1e-1, "log": True}, "optimizer": OPTIMIZER}
    )
    # adamw 1e-3 and 3e-4 both clip to 2e-3: the same configuration, tried once.
    assert portfolio(spec) == [
        {"lr": 2e-3, "optimizer": "adamw"},
        {"lr": 3e-3, "optimizer": "sgd"},
        {"lr": 3e-3, "optimizer": "adamw"},
        {"lr": 1e-2, "optimizer": "sgd"},
    ]


def test_a_choice_the_space_lacks_is_left_to_the_sampler() -> None:
    spec = spec_of({"lr": LR, "batch_size": {"type": "categorical", "choices": [64, 128]}})
    assert all("batch_size" not in entry for entry in portfolio(spec))


OPTIMIZER = {"type": "categorical", "choices": ["adamw", "sgd"]}


def test_at_most_a_third_of_the_trials() -> None:
    assert len(portfolio(spec_of({"lr": LR, "optimizer": OPTIMIZER}, trials=6))) == 2
    assert len(portfolio(spec_of({"lr": LR, "optimizer": OPTIMIZER}, trials=2))) == 1
    every = portfolio(spec_of({"lr": LR, "optimizer": OPTIMIZER}, trials=30))
    assert len(every) == len(PORTFOLIO_ENTRIES)


def test_entries_of_another_optimizer_than_the_one_held_are_skipped() -> None:
    """The study holds AdamW: SGD's learning rates mean nothing to it."""
    assert portfolio(spec_of({"lr": LR})) == [{"lr": 1e-3}, {"lr": 3e-4}, {"lr": 3e-3}]


def test_a_new_study_asks_the_portfolio_first_and_a_resumed_one_does_not_again(tmp_path) -> None:
    spec = spec_of({"lr": LR, "dropout": {"type": "float", "low": 0.0, "high": 0.5}})
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = open_study(spec, open_storage(url)).study
    lines: list[str] = []
    enqueue_portfolio(study, spec, lines.append)
    enqueue_portfolio(open_study(spec, open_storage(url)).study, spec, lines.append)
    first = [study.ask(distributions(spec)) for _ in range(5)]
    assert [t.params for t in first[:3]] == portfolio(spec)
    assert [t.user_attrs.get(PORTFOLIO) for t in first] == [0, 1, 2, None, None]
    assert lines == [
        "start: 3 configurations of the built-in fine-tuning portfolio first, then the sampler"
    ]


def test_start_random_queues_nothing(tmp_path) -> None:
    spec = spec_of({"lr": LR}, start="random")
    study = open_study(spec, open_storage(f"sqlite:///{tmp_path / 'optuna.db'}")).study
    add_starts(study, spec, [], print)
    assert study.get_trials() == []


def test_every_start_a_study_file_may_name_has_its_function() -> None:
    assert sorted(STARTS) == sorted(typing.get_args(StartName))
