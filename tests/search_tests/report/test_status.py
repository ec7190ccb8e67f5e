"""`hpsearch status` reads running trials from the storage alone (the end-to-end command, on a
run driven by another process, is in test_progress.py)."""

from __future__ import annotations

import time
from datetime import timedelta

import optuna
from optuna.distributions import FloatDistribution

from search.report.status import running_rows


def test_each_running_trial_is_a_row_with_its_epoch_value_and_start() -> None:
    study = optuna.create_study()
    study.tell(study.ask({"lr": FloatDistribution(1e-4, 1e-1)}), 0.3)
    running = study.ask({"lr": FloatDistribution(1e-4, 1e-1)})
    running.report(0.9, 1)
    running.report(0.7, 2)
    started = study.trials[1].datetime_start
    (row,) = running_rows(study, 4, started + timedelta(seconds=75))
    assert (row.label, row.epoch, row.of, row.value) == ("trial 1", 2, 4, 0.7)
    assert row.params == {"lr": running.params["lr"]}
    assert row.since == f"{started:%H:%M:%S} (1 min 15 s)"


def test_a_race_run_and_the_refit_are_rows_as_the_live_view_shows_them() -> None:
    from datetime import datetime, timezone

    from search.trials.attrs import CHOSEN_EPOCHS, RACE_OF, RACE_RUN, REFIT

    lr = {"lr": FloatDistribution(1e-4, 1e-1)}
    study = optuna.create_study()
    study.tell(study.ask(lr), 0.3)
    race = study.ask(lr)
    for key, value in ((RACE_OF, 0), (RACE_RUN, 2), (CHOSEN_EPOCHS, 3)):
        race.set_user_attr(key, value)
    since = datetime.now(timezone.utc).isoformat(timespec="seconds")
    progress = {"trial": 0, "epoch": 2, "of": 3, "device": "cpu", "train_loss": 0.25}
    study.set_user_attr(REFIT, {**progress, "started": since})
    now = datetime.now() + timedelta(seconds=5)
    shown = running_rows(study, 4, now)
    assert [(r.label, r.epoch, r.of) for r in shown] == [
        ("race: trial 0 run 2", 0, 3),
        ("refit of #0 on cpu, train_loss 0.2500", 2, 3),
    ]
    records = [r.record() for r in shown]
    assert [(r["trial"], r["kind"]) for r in records] == [(1, "race run"), (0, "refit")]
    assert all(datetime.fromisoformat(r["started"]).tzinfo is not None for r in records)
    for driven_since in (None, time.time() + 60):  # no driver; one that took over after
        kept = running_rows(study, 4, now, driven_since=driven_since)
        assert [r.label for r in kept] == [shown[0].label]  # no stale refit row
