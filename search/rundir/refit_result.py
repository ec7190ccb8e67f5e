"""What a refit hands the run directory: the configuration it trained, the trial it replays,
and what its process sent back (search/engine/refit.py makes it; rundir/results.py writes it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainable import Evaluation, MultiLabelEvaluation, TrainConfig


@dataclass(frozen=True)
class Fitted:
    """What the refit's process sends back."""

    state_dict: dict[str, Any]  # on the CPU
    history: list[dict[str, float]]
    test: Evaluation | MultiLabelEvaluation
    onnx: bytes  # model.onnx, preprocessing inside (trainable/export.py)
    onnx_check: dict[str, float]  # model.onnx against the PyTorch model on the test split


@dataclass(frozen=True)
class Refit:
    config: TrainConfig
    trial_number: int
    trial_value: float
    trial_params: dict[str, Any]  # as sampled
    fitted: Fitted
    placement: dict[str, str]  # the node and GPUs the refit ran on
    serving: dict[str, float]  # the trial's serving cost, as measured before the search


__all__ = ["Fitted", "Refit"]
