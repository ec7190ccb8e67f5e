"""`hpsearch status` reads running trials from the storage alone (the end-to-end command, on a
run driven by another process, is in test_progress.py)."""

from __future__ import annotations

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
