"""The line `hpsearch run` prints as each trial ends."""

from __future__ import annotations

import optuna

from search.report.progress import TrialPrinter
from search.trials.attrs import CHOSEN_EPOCHS


def told(values: dict[int, float], chosen: int | None) -> tuple[optuna.Study, object]:
    study = optuna.create_study()
    trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)})
    for epoch, value in values.items():
        trial.report(value, epoch)
    if chosen is not None:
        trial.set_user_attr(CHOSEN_EPOCHS, chosen)
    return study, study.tell(trial, values[chosen or max(values)])


def test_a_trial_whose_curve_chose_an_earlier_epoch_says_which_of_how_many() -> None:
    lines: list[str] = []
    study, trial = told({1: 0.3, 2: 0.4}, chosen=1)
    TrialPrinter("val_loss", lines.append)(study, trial)
    assert " COMPLETE val_loss 0.3000 at epoch 1 of 2 " in lines[0]
    assert "after 2 epochs" not in lines[0]  # it stands for epoch 1, not for the 2 it ran


def test_a_trial_that_stands_for_all_its_epochs_says_after() -> None:
    lines: list[str] = []
    study, trial = told({1: 0.4, 2: 0.3}, chosen=2)
    TrialPrinter("val_loss", lines.append)(study, trial)
    assert " COMPLETE val_loss 0.3000 after 2 epochs " in lines[0]
