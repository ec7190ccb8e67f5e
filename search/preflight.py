"""What every command that trains checks before the first trial: the data, each backbone and its
weights, an external storage and Ray (`checked_inputs`), then whether the cluster can hold a
trial and the refit (`placed`). Each failure is one line, and nothing has been written yet."""

from __future__ import annotations

from typing import TYPE_CHECKING

from search.echo import Echo
from search.engine.cluster import check_fits, node_resources, refit_resources, start_ray
from search.engine.gpu_probe import pack
from search.rundir.storage import check_reachable
from search.study.pointless import pointless_settings
from search.study.spec import StudySpec
from trainable import build_model, prepare

if TYPE_CHECKING:
    from ray import ObjectRef

    from trainable import Splits


def measure_and_check_resources(spec: StudySpec, shared: ObjectRef, echo: Echo) -> StudySpec:
    """The study with its resources as trials will ask for them (`gpus_per_trial: auto`
    measured), checked against the cluster's nodes: Ray would wait forever for a trial, or a
    refit, that no node can take."""

    nodes = node_resources()
    if spec.resources.auto_gpus:
        spec = pack(spec, nodes, shared, echo)
    check_fits(spec, nodes)
    refit_resources(spec, nodes)
    return spec


def checked_inputs(spec: StudySpec, verbose: bool, echo: Echo, *, search: bool = True) -> Splits:
    """Data, model, storage and Ray, each failing with one line before any trial starts; with
    `search`, a warning line for each setting that would make pruning or batching do nothing."""

    splits = prepare(spec.data)
    kind = "tags" if splits.multilabel else "classes"
    echo(
        f"data: {len(splits.train)} train / {len(splits.val)} val / {len(splits.test)} test "
        f"images, {splits.num_classes} {kind}, {splits.image_size} px"
    )
    for note in splits.notes:
        echo(f"data: {note}")
    for line in pointless_settings(spec, len(splits.train)) if search else []:
        echo(f"warning: {line}")
    for backbone in spec.backbones:  # each one's weights at hand, before any trial
        build_model(backbone, spec.model.weights, splits.num_classes, dropout=0.0)
    if spec.storage:
        check_reachable(spec.storage)
    start_ray(spec, verbose)
    return splits
