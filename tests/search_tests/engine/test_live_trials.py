"""One record per running trial, shared by the searcher and the scheduler, gone at its end."""

from __future__ import annotations

import optuna

from search.engine.live_trials import LiveTrials


def test_a_trial_is_kept_from_its_start_to_its_end() -> None:
    study = optuna.create_study()
    live = LiveTrials()
    record = live.start("ray-1", study.ask())
    record.pruned, record.error = True, "OSError: disk hiccup"
    record.curves.append({"epoch": 1, "val_loss": 0.5})
    assert len(live) == 1 and live.get("ray-1") is record and live.get("ray-2") is None
    assert live.end("ray-1") is record
    assert len(live) == 0 and live.end("ray-1") is None
