"""search.budget and search.warm_start end to end: through Ray Tune, Optuna, the refit, the run
directory and the dashboard; and a real `hpsearch run` with a time budget killed with -9, then
resumed."""

from __future__ import annotations

import json
import signal
import time

import optuna
import pandas as pd
import pytest

from search.run import run_study
from search.study.spec import parse_study_spec
from search.trials.attrs import BUDGET_SPENT, PORTFOLIO, STOPPED, WARM_FROM
from search.trials.curves import records_of
from search.trials.states import is_complete, is_pruned, search_trials, warm_trials
from tests.search_tests.drivers import mid_search, process_study, start, storage_of, wait_for
from tests.search_tests.drivers import run as hpsearch
from tests.search_tests.helpers import tiny_study

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def warm_run(finished, tmp_path_factory):
    """A study warm-started from the finished tiny run, on the portfolio, with 4 epochs to
    spend one trial at a time: (RunResult, its study, the earlier study, progress lines)."""
    earlier, _, _ = finished
    raw = tiny_study(
        name="warm",
        space={"lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}},
        fixed={"epochs": 3, "batch_size": 16},
        search={
            "trials": None,
            "concurrency": 1,
            "budget": {"epochs": 4},
            "warm_start": str(earlier.run_dir),
            "start": "portfolio",
        },
    )
    lines: list[str] = []
    result = run_study(
        parse_study_spec(raw), tmp_path_factory.mktemp("runs") / "warm", echo=lines.append
    )
    study = optuna.load_study(study_name="warm", storage=storage_of(result.run_dir))
    before = optuna.load_study(study_name="tiny", storage=storage_of(earlier.run_dir))
    return result, study, before, lines


def test_the_epochs_budget_stops_the_running_trial_and_the_refit_runs(warm_run) -> None:
    result, study, _, lines = warm_run
    first, second, queued = search_trials(study)
    assert queued.state.name == "WAITING"  # the portfolio's third entry: next, if extended
    # Trial one trains its 3 epochs; the budget runs out at the second trial's first epoch.
    assert is_complete(first) and len(first.intermediate_values) == 3
    assert len(second.intermediate_values) == 1 and second.user_attrs[STOPPED] == (
        "search.budget.epochs reached"
    )
    assert not is_pruned(second)  # stopped short, not pruned: told apart everywhere
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["trials"] == {"COMPLETE": 1, "STOPPED": 1}
    assert summary["budget"]["stopped_by"] == "epochs"
    assert summary["budget"]["spent"]["epochs"] == 4 and summary["budget"]["limits"] == {
        "epochs": 4
    }
    assert summary["best_trial"] == first.number and result.refitted
    assert "budget: stopped by its epochs limit; spent 2 trials, 4 of 4 epochs" in "\n".join(lines)
    assert any(line.startswith(f"trial {second.number:>3} STOPPED ") for line in lines)
    page = (result.run_dir / "report.html").read_text()
    assert "stopped by its epochs limit" in page


def test_warm_start_trials_are_the_samplers_and_shown_as_such(warm_run) -> None:
    result, study, before, lines = warm_run
    earlier = [t for t in search_trials(before) if is_complete(t) or is_pruned(t)]
    warm = warm_trials(study)
    assert len(warm) == len(earlier) > 0
    assert {t.user_attrs[WARM_FROM] for t in warm} == {str(before_dir(before, result))}
    assert f"warm start: {len(earlier)} trials from " in "\n".join(lines)
    frame = pd.read_csv(result.run_dir / "trials.csv")
    shown = frame[frame["warm_start_from"].notna()]
    assert len(shown) == len(warm) and set(shown["warm_start_trial"]) == {t.number for t in earlier}
    # The portfolio's first entry is today's first trial, tagged.
    assert frame.loc[frame["number"] == search_trials(study)[0].number, PORTFOLIO].item() == 0
    page = (result.run_dir / "report.html").read_text()
    assert f"{len(warm)} trials from " in page and "for the sampler only" in page


def before_dir(before: optuna.Study, result) -> str:
    """The earlier run directory as the warm trials name it (from the search's own spec)."""
    import yaml

    spec = yaml.safe_load((result.run_dir / "study.yaml").read_text())
    return spec["search"]["warm_start"][0]


def test_the_dashboard_shows_warm_start_trials_tagged(warm_run) -> None:
    import urllib.request

    from search.report.dashboard import beside

    result, study, _, _ = warm_run
    url = storage_of(result.run_dir)
    study_id = optuna.storages.RDBStorage(url).get_study_id_from_name("warm")
    with beside(url, "127.0.0.1", 0) as address:
        api = address.removesuffix("dashboard/") + f"api/studies/{study_id}"
        shown = json.load(urllib.request.urlopen(api, timeout=10))
    tagged = [t for t in shown["trials"] if any(a["key"] == WARM_FROM for a in t["user_attrs"])]
    assert sorted(t["number"] for t in tagged) == sorted(t.number for t in warm_trials(study))


def test_a_time_budget_killed_with_9_resumes_with_the_time_it_had_spent(write_study, tmp_path):
    limit = 0.4  # minutes
    study_file = write_study(
        process_study(search={"trials": None, "concurrency": 2, "budget": {"minutes": limit}})
    )
    run_dir = tmp_path / "run"
    process = start(study_file, run_dir)
    wait_for(mid_search, run_dir, process)
    spent = _spent_seconds(run_dir, at_least=14.0)  # so a resume from zero would run 10 s over
    process.send_signal(signal.SIGKILL)
    process.wait()

    resumed = hpsearch("run", str(study_file), "--run-dir", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    budget = summary["budget"]
    assert budget["stopped_by"] == "minutes" and "budget: stopped by its minutes limit" in (
        resumed.stdout
    )
    # The resumed search ran only what was left of the 24 s, give or take an epoch...
    left = limit * 60 - spent
    search_seconds = summary["seconds"]["search"]
    longest_epoch = _longest_epoch(run_dir)
    assert search_seconds < left + longest_epoch + 8  # Ray's start and stop beside
    # ... and the whole search stopped within an epoch of the limit, the killed run counted:
    # what it had saved of its clock is in the total, beside the resumed search's own time
    # (a resume that started its clock at zero would have spent only the latter).
    total = budget["spent"]["minutes"] * 60
    assert total >= spent + search_seconds - longest_epoch - 8
    overrun = total - limit * 60
    assert -1 < overrun < longest_epoch + 3


def _spent_seconds(run_dir, at_least: float) -> float:
    """What the running search has saved of its clock, once it is `at_least` seconds."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        study = optuna.load_study(study_name="tiny", storage=storage_of(run_dir))
        seconds = study.user_attrs.get(BUDGET_SPENT, {}).get("seconds", 0.0)
        if seconds >= at_least:
            return seconds
        time.sleep(0.2)
    pytest.fail(f"the search never saved {at_least} s of its clock")


def _longest_epoch(run_dir) -> float:
    study = optuna.load_study(study_name="tiny", storage=storage_of(run_dir))
    longest = 0.0
    for trial in search_trials(study):
        seconds = [r["elapsed_seconds"] for r in records_of(trial) if "elapsed_seconds" in r]
        steps = [b - a for a, b in zip([0.0, *seconds], seconds, strict=False)]
        longest = max([longest, *steps])
    return longest
