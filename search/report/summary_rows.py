"""The rows of report.html's summary table: what the study found, how, and at what cost."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from search.budget import spent_line
from search.report.pruning import pruning_savings
from search.rundir.layout import Summary
from search.trials.attrs import PORTFOLIO, TRAIN_SECONDS, WARM_FROM
from search.trials.states import search_trials, state_counts, warm_trials
from search.trials.values import format_params, shown_params

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from search.study.spec import StudySpec


def summary_rows(
    spec: StudySpec, study: optuna.Study, summary: Summary | None, best: FrozenTrial | None
) -> list[tuple[str, str]]:
    """The summary table's rows: trials, best, settings, time, test, budget, start."""
    trials = search_trials(study)
    states = {state.lower(): count for state, count in state_counts(trials).items()}
    trained = sum(float(t.user_attrs.get(TRAIN_SECONDS, 0)) for t in trials)
    rows = [("trials", ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "none yet")]
    if best is not None:
        rows.append(("best trial", f"#{best.number}: {spec.search.metric} {best.value:.4f}"))
        rows.append(("best parameters", format_params(shown_params(best))))
    rows += [
        ("metric", f"{spec.search.metric} ({spec.search.direction})"),
        ("sampler, pruner", f"{spec.search.sampler.type}, {spec.search.pruner.type}"),
        ("epochs trained", str(pruning_savings(spec, trials))),
        ("time in trials", f"{trained:.0f} s of training, summed over trials"),
    ]
    if summary is None:
        rows.append(("test split", "not evaluated yet: the search has not finished"))
    else:
        seconds, test = summary.seconds, summary.test
        rows.append(
            (
                "wall time",
                f"search {seconds.get('search', '?')} s, "
                f"refit and test {seconds.get('refit', '?')} s",
            )
        )
        rows.append(("test split", test.line()))
        if summary.budget:
            rows.append(("budget", spent_line(summary.budget).removeprefix("budget: ")))
    return rows + _start_rows(study)


def _start_rows(study: optuna.Study) -> list[tuple[str, str]]:
    """What the study started from: earlier studies' trials, the built-in portfolio."""
    sources = Counter(t.user_attrs[WARM_FROM] for t in warm_trials(study))
    rows = []
    if sources:
        text = "; ".join(f"{n} trials from {source}" for source, n in sources.items())
        rows.append(("warm start", text + " (for the sampler only: not counted, not refitted)"))
    portfolio = [t.number for t in search_trials(study) if PORTFOLIO in t.user_attrs]
    if portfolio:
        numbers = ", ".join(f"#{n}" for n in portfolio)
        rows.append(("start", f"the built-in fine-tuning portfolio: trials {numbers}"))
    return rows


__all__ = ["summary_rows"]
