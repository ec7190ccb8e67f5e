"""Names of the user attrs hpsearch writes on Optuna trials (readable without Ray)."""

FAIL_REASON = "fail_reason"  # why a FAIL trial failed, one line
RAY_TRIAL_ID = "ray_trial_id"  # the Ray Tune trial that ran it
HISTORY = "history"  # per-epoch train/val loss and accuracy, lr, seconds (list of dicts)
CHOSEN_EPOCHS = "epochs"  # searched epochs: the epoch a complete trial's curve chose
PER_TAG = "val_per_tag"  # multi-label: {tag: {precision, recall}} at the trial's epoch
TRAIN_SECONDS = "train_seconds"  # wall time inside train(), model build included
ATTEMPT = "attempt"  # 2 for the first retry of a trial that raised, ...
NODE = "node"  # the Ray node id the trial ran on
GPUS = "gpus"  # the GPU ids the trial saw (its CUDA_VISIBLE_DEVICES), "" for none
RETRY_OF = "retry_of"  # the number of the failed trial a retry repeats
INTERRUPTED = "interrupted: the search stopped while this trial ran"
INFEASIBLE = "infeasible"  # a trial told PRUNED untrained: its backbone breaks search.constraints
# Its backbone's serving cost, one user attr each (search/study/constraints.py): params_m,
# macs_g, latency_ms, throughput.
# A race run (search.select: race, search/selection/race.py): a trial of its own that trains
# another trial's configuration again, on a fresh seed (and validation split).
RACE_OF = "race_of"  # the number of the search trial whose configuration it runs again
RACE_RUN = "race_run"  # 1, 2, ...: which of its repeats; run i of every contender shares seeds
RACE_SEED = "race_seed"  # the training seed of the run
RACE_SPLIT_SEED = "race_split_seed"  # the seed of its train/val split; absent: the study's split
# search.budget (search/budget/spend.py): a trial stopped when a limit was reached, kept as it
# stood: COMPLETE where it reached an epoch count the study may choose, else PRUNED.
STOPPED = "stopped"  # "search.budget.minutes reached"
# search.warm_start (search/start/warm_start.py): a finished trial of an earlier study, added
# for the sampler to learn from; it counts towards nothing the search counts.
WARM_FROM = "warm_start_from"  # the earlier study: its run directory, or its name and storage
WARM_TRIAL = "warm_start_trial"  # its number there
PORTFOLIO = "portfolio"  # search.start: portfolio: which entry of the built-in portfolio
# Study user attrs.
BUDGET_SPENT = "budget_spent"  # {"seconds", "gpu_seconds"}: what search.budget's clock has spent
REFIT = "refit"  # the refit while it runs: trial, epoch, of, device, train_loss, started (ISO)
MLFLOW = "mlflow"  # tracking (search/tracking.py): server -> its {experiment_id, run_id} (parent)
STUDY_SPEC = "hpsearch_study"  # the resolved study file (storage left out): what it searched
