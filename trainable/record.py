"""The names of an epoch's record, as `train()` reports it (and History keeps it).

A search keeps a trial's curves by these names, so a number train() adds to its record must be
named here or it never reaches the storage; tests/trainable_tests/test_loop.py checks that
every record train() writes uses only these.
"""

from __future__ import annotations

RECORD_KEYS = (
    "epoch",
    "train_loss",
    "train_accuracy",
    "train_accuracy_thresh",  # multi-label: right (image, tag) pairs at the threshold
    "val_loss",
    "val_accuracy",
    "val_fbeta",  # multi-label
    "val_accuracy_thresh",  # multi-label
    "val_best_threshold",  # multi-label: where this epoch's validation F-beta peaks
    "val_fbeta_at_best_threshold",
    "lr",
    "seconds",  # the epoch's training time (validation excluded)
    "images_per_second",
    "data_wait_fraction",  # of the epoch's training time, the host waiting for the next batch
    "peak_memory_mib",  # on a GPU: the caching allocator's peak (the CUDA context excluded)
    "elapsed_seconds",  # since train() began, the model's build included
    "probe_loss_before",  # freeze: probe, epoch 1: the new head's training loss on the frozen
    "probe_loss",  # features before its fit, and after
)
# Multi-label: each tag's validation scores, as `val_precision/<tag>`.
PER_TAG_PREFIXES = ("val_precision/", "val_recall/")


def is_record_key(name: str) -> bool:
    return name in RECORD_KEYS or name.startswith(PER_TAG_PREFIXES)
