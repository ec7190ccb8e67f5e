"""The progress display, fed the searcher's events by hand: plain lines, the status area, the
time-left estimate."""

from __future__ import annotations

import io
import re

import optuna
import pytest

from search.report.live import Progress
from search.study.spec import parse_study_spec
from tests.search_tests.helpers import tiny_study

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # anything but tab and newline


@pytest.fixture
def spec():
    return parse_study_spec(
        tiny_study(
            space={"lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}},
            fixed={"epochs": 3},
            search={"trials": 4, "concurrency": 1},
        )
    )


def _study() -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(direction="minimize")


def _trial(study: optuna.Study) -> optuna.trial.Trial:
    trial = study.ask()
    trial.suggest_float("lr", 1e-4, 1e-2, log=True)
    return trial


def _epoch(epoch: int, value: float, seconds: float) -> dict:
    return {"epoch": epoch, "val_loss": value, "elapsed_seconds": seconds}


def test_plain_output_is_one_line_an_epoch_and_no_control_characters(spec) -> None:
    study, lines = _study(), []
    progress = Progress(spec, study, lines.append, terminal=False)
    with progress:
        trial = _trial(study)
        progress.started(trial)
        for epoch in (1, 2, 2, 3):  # epoch 2 again: on_trial_complete repeats the last result
            progress.epoch(trial, _epoch(epoch, 1.0 / epoch, 2.0 * epoch))
        frozen = study.tell(trial, 0.33)
        progress.finished(study, frozen)
        progress.refit_epoch(0, 3, "cpu", {})
        progress.refit_epoch(1, 3, "cpu", {"train_loss": 0.5})
    epochs = [line for line in lines if re.match(r"trial +0 epoch \d/3", line)]
    assert [line.split()[3] for line in epochs] == ["1/3", "2/3", "3/3"]
    assert "val_loss 0.5000" in epochs[1]
    assert lines[-2].startswith("trial   0 COMPLETE val_loss 0.3300")
    assert lines[-1].startswith("refit: epoch 1/3 on cpu, train_loss 0.5000")
    assert not any(CONTROL.search(line) for line in lines)


def test_the_status_area_shows_running_trials_and_the_footer(spec) -> None:
    from rich.console import Console

    study = _study()
    progress = Progress(spec, study, terminal=False)
    first, second = _trial(study), _trial(study)
    progress.started(first)
    progress.started(second)
    progress.epoch(first, _epoch(1, 0.9, 2.0))
    console = Console(file=io.StringIO(), width=120)
    console.print(progress.render())
    text = console.file.getvalue()
    assert re.search(r"trial 0 +lr=\S+ +1/3 +0.9000", text)
    assert re.search(r"trial 1 +lr=\S+ +0/3", text)
    assert "0/4 trials finished · no best yet · 1 epochs trained" in text
    assert "time left: known after the first trial" in text


def test_time_left_counts_trials_to_come_and_epochs_left_over_the_concurrency(spec) -> None:
    study = _study()
    progress = Progress(spec, study, terminal=False, refit_scale=1.0)
    trial = _trial(study)
    progress.started(trial)
    for epoch in (1, 2, 3):  # 10 s an epoch
        progress.epoch(trial, _epoch(epoch, 1.0, 10.0 * epoch))
    progress.finished(study, study.tell(trial, 1.0))
    # 3 trials still to run at 3 epochs of 10 s, one at a time, then the refit's 3 epochs.
    assert progress.tally.left_seconds == pytest.approx(90.0 + 30.0)
    running = _trial(study)
    progress.started(running)
    progress.epoch(running, _epoch(1, 1.0, 10.0))
    # 2 to start (60 s) and 2 epochs left of the running one (20 s), then the refit.
    assert progress.tally.left_seconds == pytest.approx(80.0 + 30.0)
    assert progress.tally.line() == (
        "1/4 trials finished · best val_loss 1.0000 (#0) · 4 epochs trained · about 1 min 50 s left"
    )


def test_the_time_left_counts_the_refit_until_it_is_done(spec) -> None:
    """Once the trials are done the refit is still to come: never 'almost done' before it."""
    study = _study()
    progress = Progress(spec, study, terminal=False, refit_scale=1.5)
    for _ in range(4):
        trial = _trial(study)
        progress.started(trial)
        for epoch in (1, 2, 3):  # 10 s an epoch
            progress.epoch(trial, _epoch(epoch, 1.0, 10.0 * epoch))
        progress.finished(study, study.tell(trial, 1.0))
    assert progress.tally.left_seconds == pytest.approx(3 * 10.0 * 1.5)  # train + val: 1.5x
    progress.refit_of(study.trials[0])
    progress.refit_epoch(1, 3, "cpu", {"train_loss": 0.5})
    assert progress.tally.left_seconds == pytest.approx(2 * 10.0 * 1.5)
    (row,) = progress.running.values()
    assert row.label == "refit of #0 on cpu, train_loss 0.5000" and "train_loss" not in row.params


def test_a_resumed_search_counts_from_the_storage(spec) -> None:
    study = _study()
    for value in (0.5, 0.4):
        trial = _trial(study)
        trial.report(value, 1)
        study.tell(trial, value)
    progress = Progress(spec, study, terminal=False)
    assert progress.tally.line().startswith(
        "2/4 trials finished · best val_loss 0.4000 (#1) · 2 epochs trained"
    )


def test_the_progress_pickles_without_its_lock(spec) -> None:
    """Ray pickles the searcher, and with it the progress display."""
    import pickle

    progress = Progress(spec, _study(), terminal=False)
    copy = pickle.loads(pickle.dumps(progress))
    assert copy.tally.wanted == 4 and copy.render() is not None
