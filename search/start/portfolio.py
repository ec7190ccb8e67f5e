"""`search.start: portfolio`: the first trials of a new study are fine-tuning configurations
known to work for pretrained image classifiers, before the sampler takes over.

Where the values come from (each is a published default for fine-tuning a pretrained CNN):

- AdamW at 1e-3 with weight decay 0.01: Keras' transfer-learning guide trains the new head with
  Adam at 1e-3; 0.01 is PyTorch's AdamW default.
- SGD with momentum 0.9 at 3e-3 and no weight decay: BiT-HyperRule (Kolesnikov et al., "Big
  Transfer", ECCV 2020).
- AdamW at 3e-4 and at 3e-3: either side of the above, within the range fastai's `fine_tune`
  (Adam, base_lr 2e-3, one-cycle) and timm's fine-tuning recipes use.
- SGD with momentum 0.9 at 1e-2 with weight decay 1e-4: the ResNet ImageNet recipe's momentum
  and decay at a fine-tuning learning rate (PyTorch's transfer-learning tutorial uses 1e-3).
- Dropout 0.2 before the head (EfficientNet's own), batch size 32, label smoothing 0.1 (timm's
  default), the one-cycle schedule (fastai's `fit_one_cycle`), nothing frozen.

Only what the study searches is taken from an entry, clipped into the study's space; a
choice the space does not offer is left to the sampler, and an entry of another optimizer than
the one the study holds is skipped. Entries that come out the same are tried once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from search.echo import Echo
from search.study.space import distributions, fit_to_space
from search.study.spec import StudySpec
from search.trials.attrs import PORTFOLIO
from search.trials.states import search_trials

if TYPE_CHECKING:
    import optuna

_COMMON = {
    "dropout": 0.2,
    "batch_size": 32,
    "label_smoothing": 0.1,
    "schedule": "one_cycle",
    "freeze": "none",
}
PORTFOLIO_ENTRIES: tuple[dict[str, Any], ...] = (  # the most promising first
    {**_COMMON, "optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.01},
    {**_COMMON, "optimizer": "sgd", "lr": 3e-3, "momentum": 0.9, "weight_decay": 0.0},
    {**_COMMON, "optimizer": "adamw", "lr": 3e-4, "weight_decay": 0.01},
    {**_COMMON, "optimizer": "adamw", "lr": 3e-3, "weight_decay": 0.01},
    {**_COMMON, "optimizer": "sgd", "lr": 1e-2, "momentum": 0.9, "weight_decay": 1e-4},
)


def portfolio(spec: StudySpec) -> list[dict[str, Any]]:
    """The portfolio's entries as the study's parameters: searched values only, clipped into
    its space, each configuration once; at most a third of search.trials (one at least)."""
    space = distributions(spec)
    held = spec.train_config().optimizer
    chosen: list[dict[str, Any]] = []
    for entry in PORTFOLIO_ENTRIES:
        if "optimizer" not in space and entry["optimizer"] != held:
            continue  # its learning rate is another optimizer's
        params = _fitted(entry, space)
        if params and params not in chosen:
            chosen.append(params)
    limit = spec.search.trial_limit
    return chosen if limit is None else chosen[: max(1, limit // 3)]


def _fitted(entry: dict[str, Any], space: dict[str, Any]) -> dict[str, Any]:
    """The entry's values the space can take (a choice it does not offer is left out)."""
    params: dict[str, Any] = {}
    for name in space:
        if name in entry:
            fitted, _, refused = fit_to_space({name: entry[name]}, {name: space[name]})
            if refused is None:
                params.update(fitted)
    return params


def enqueue_portfolio(study: optuna.Study, spec: StudySpec, say: Echo) -> None:
    """A new study (no trial of its own yet) gets the portfolio queued as its first trials."""
    if search_trials(study):
        return
    entries = portfolio(spec)
    for index, params in enumerate(entries):
        study.enqueue_trial(params, user_attrs={PORTFOLIO: index})
    if entries:
        say(
            f"start: {len(entries)} configurations of the built-in fine-tuning portfolio first, "
            "then the sampler"
        )


__all__ = ["PORTFOLIO_ENTRIES", "enqueue_portfolio", "portfolio"]
