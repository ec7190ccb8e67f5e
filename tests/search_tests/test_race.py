"""The race before the refit (search.select: race), through Ray Tune, Optuna, the refit and the
run directory; and a real `hpsearch run` killed mid-race, then resumed."""

from __future__ import annotations

import json
import signal

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from search.run import run_study
from search.selection.race import Race
from search.study.spec import parse_study_spec
from search.trials.attrs import (
    CHOSEN_EPOCHS,
    FAIL_REASON,
    INTERRUPTED,
    RACE_OF,
    RACE_RUN,
    RACE_SEED,
    RACE_SPLIT_SEED,
)
from search.trials.states import is_race_run, search_trials
from tests.search_tests.drivers import process_study, start, trials, wait_for
from tests.search_tests.drivers import run as hpsearch
from tests.search_tests.helpers import outcome_lines, tiny_study

pytestmark = pytest.mark.slow

RACE = {"top_k": 2, "repeats": 2}
RACE_SPEC = Race(top_k=2, repeats=2)


@pytest.fixture(scope="module")
def raced(ray_session, tmp_path_factory):
    """A tiny study with a race: (RunResult, study, progress lines)."""
    raw = tiny_study(search={"trials": 4, "concurrency": 2, "select": RACE})
    lines: list[str] = []
    result = run_study(
        parse_study_spec(raw), tmp_path_factory.mktemp("runs") / "tiny", echo=lines.append
    )
    storage = f"sqlite:///{result.run_dir / 'optuna.db'}"
    return result, optuna.load_study(study_name="tiny", storage=storage), lines


def test_every_race_run_is_a_tagged_trial_of_the_study(raced) -> None:
    result, study, _ = raced
    search = search_trials(study)
    runs = [t for t in study.get_trials() if is_race_run(t)]
    assert len(search) == 4 and len(runs) == 4  # 2 contenders x 2 repeats
    ranked = sorted(search, key=lambda t: t.value)
    contenders = {t.number: t for t in ranked[:2]}
    assert {t.user_attrs[RACE_OF] for t in runs} == set(contenders)
    for run in runs:
        contender = contenders[run.user_attrs[RACE_OF]]
        assert run.state == TrialState.COMPLETE
        assert run.params == contender.params  # the same configuration ...
        assert run.user_attrs[CHOSEN_EPOCHS] == contender.user_attrs[CHOSEN_EPOCHS]
        assert len(run.intermediate_values) == contender.user_attrs[CHOSEN_EPOCHS]
        index = run.user_attrs[RACE_RUN]
        assert run.user_attrs[RACE_SEED] == index  # ... on fresh draws: the study's seed 0 + i
        assert run.user_attrs[RACE_SPLIT_SEED] == index  # fake data: val is carved, reshuffled
        assert run.value == run.intermediate_values[max(run.intermediate_values)]
    # Paired draws: run i of both contenders shares its seeds, and different draws differ.
    assert len({(r.user_attrs[RACE_RUN], r.value) for r in runs}) == 4
    # The search's counts leave the race out: the summary counts the search's 4 trials.
    assert result.summary.trials == {"COMPLETE": 4}


def test_the_refit_trains_the_winner_by_mean_and_summary_keeps_the_race(raced) -> None:
    result, study, _ = raced
    race = json.loads((result.run_dir / "summary.json").read_text())["race"]
    runs = {}
    for trial in study.get_trials():
        if is_race_run(trial):
            runs.setdefault(trial.user_attrs[RACE_OF], {})[trial.user_attrs[RACE_RUN]] = trial.value
    means = {number: sum(r.values()) / len(r) for number, r in runs.items()}
    winner = min(means, key=means.get)
    assert race["winner"] == winner == result.summary.best_trial
    single = min(search_trials(study), key=lambda t: t.value).number
    assert race["single_best"] == single and race["changed"] == (winner != single)
    for contender in race["contenders"]:
        assert contender["runs"] == [runs[contender["trial"]][i] for i in (1, 2)]
        assert contender["mean"] == pytest.approx(means[contender["trial"]])
    best = yaml_of(result.run_dir / "best_config.yaml")
    assert best["lr"] == pytest.approx(study.trials[winner].params["lr"])


def test_progress_trials_csv_and_report_show_the_race(raced) -> None:
    result, _, lines = raced
    text = "\n".join(lines)
    assert "race: the 2 best configurations (trials " in text
    finished = [line for line in lines if line.startswith("race: trial") and " COMPLETE " in line]
    assert len(finished) == 4
    standing = [line for line in lines if "in the search | runs" in line]
    assert len(standing) == 2 and sum("<- refitted" in line for line in standing) == 1
    assert any(line.startswith("race: trial") and "win" in line for line in lines)
    assert len(outcome_lines(lines)) == 4  # race runs are not counted as search trials
    frame = pd.read_csv(result.run_dir / "trials.csv")
    assert frame["race_of"].notna().sum() == 4
    assert set(frame.loc[frame["race_of"].notna(), "race_run"]) == {1, 2}
    page = (result.run_dir / "report.html").read_text()
    assert "Race before the refit" in page and "(winner)" in page


def test_the_dashboard_shows_the_race_runs_tagged(raced) -> None:
    import urllib.request

    from search.report.dashboard import beside

    result, study, _ = raced
    url = f"sqlite:///{result.run_dir / 'optuna.db'}"
    study_id = optuna.storages.RDBStorage(url).get_study_id_from_name("tiny")
    with beside(url, "127.0.0.1", 0) as address:
        api = address.removesuffix("dashboard/") + f"api/studies/{study_id}"
        shown = json.load(urllib.request.urlopen(api, timeout=10))
    tagged = {
        t["number"]: {a["key"]: a["value"] for a in t["user_attrs"]}
        for t in shown["trials"]
        if any(a["key"] == RACE_OF for a in t["user_attrs"])
    }
    runs = {t.number: t for t in study.get_trials() if is_race_run(t)}
    assert sorted(tagged) == sorted(runs)
    for number, attrs in tagged.items():
        assert str(runs[number].user_attrs[RACE_OF]) in str(attrs[RACE_OF])


def test_refitting_a_race_run_by_number_names_its_contender(raced) -> None:
    from search.errors import RunDirError
    from search.refit_trial import refit_trial

    result, study, _ = raced
    run = next(t for t in study.get_trials() if is_race_run(t))
    with pytest.raises(RunDirError, match=rf"trial {run.number} is a race run of trial "):
        refit_trial(result.run_dir, run.number)


def test_a_second_run_finds_the_race_finished_and_trains_nothing(raced) -> None:
    result, _, _ = raced
    lines: list[str] = []
    raw = tiny_study(search={"trials": 4, "concurrency": 2, "select": RACE})
    again = run_study(parse_study_spec(raw), result.run_dir, echo=lines.append)
    assert not again.refitted
    assert lines[0].startswith("nothing new to run: study tiny holds what search.trials")
    assert not [line for line in lines if " COMPLETE " in line or line.startswith("race: ")]
    assert len([t for t in trials(result.run_dir) if is_race_run(t)]) == 4


def test_a_finished_run_switched_to_a_race_races_and_keeps_it(finished, tmp_path) -> None:
    import shutil

    result, spec, _ = finished
    copy = tmp_path / "tiny"
    shutil.copytree(result.run_dir, copy, ignore=shutil.ignore_patterns(".lock"))
    raced = spec.model_copy(update={"search": spec.search.model_copy(update={"select": RACE_SPEC})})
    lines: list[str] = []
    again = run_study(raced, copy, echo=lines.append)
    race = json.loads((copy / "summary.json").read_text())["race"]
    assert race and race["winner"] == again.summary.best_trial == again.summary.race["winner"]
    assert again.refitted == race["changed"]  # the same trial: its refit is kept
    assert again.summary.trials == result.summary.trials  # the search itself is untouched


def test_a_race_killed_mid_way_resumes_without_re_running_finished_runs(write_study, tmp_path):
    study_file = write_study(process_study(search={"trials": 3, "select": RACE}))
    run_dir = tmp_path / "run"
    process = start(study_file, run_dir)
    mid_race = wait_for(_mid_race, run_dir, process, seconds=240)
    process.send_signal(signal.SIGKILL)
    process.wait()
    after_kill = trials(run_dir)
    kept = {t.number: t.value for t in after_kill if is_race_run(t) and _complete(t)}
    running = [t.number for t in after_kill if is_race_run(t) and t.state == TrialState.RUNNING]
    assert kept and len(kept) >= len([t for t in mid_race if is_race_run(t) and _complete(t)])
    assert running

    resumed = hpsearch("run", str(study_file), "--run-dir", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr
    final = trials(run_dir)
    for number, value in kept.items():  # finished race runs kept, not re-run
        assert final[number].value == value
    for number in running:
        assert final[number].state == TrialState.FAIL
        assert final[number].user_attrs[FAIL_REASON] == INTERRUPTED
    complete = [
        (t.user_attrs[RACE_OF], t.user_attrs[RACE_RUN])
        for t in final
        if is_race_run(t) and _complete(t)
    ]
    assert sorted(complete) == sorted(set(complete)) and len(complete) == 4  # each run once
    assert len(search_trials_of(final)) == 3  # the search was not extended
    assert f"{4 - len(kept)} of 4 runs to go" in resumed.stdout  # said before it runs them
    assert json.loads((run_dir / "summary.json").read_text())["race"]["winner"] is not None


def _mid_race(found: list) -> bool:
    """A race run finished and another still running, with epochs to go."""
    runs = [t for t in found if is_race_run(t)]
    return any(_complete(t) for t in runs) and any(
        t.state == TrialState.RUNNING and len(t.intermediate_values) <= 1 for t in runs
    )


def _complete(trial) -> bool:
    return trial.state == TrialState.COMPLETE


def search_trials_of(found: list) -> list:
    return [t for t in found if not is_race_run(t)]


def yaml_of(path):
    import yaml

    return yaml.safe_load(path.read_text())
