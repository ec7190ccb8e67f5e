"""`search.constraints`: bounds on what the chosen model may cost to serve.

Each bound is one line of the study file, on the figures measured once per backbone
(trainable/cost.py): `latency_ms`, `params_m` and `macs_g` are maxima, `throughput` (images/s
at batch 64) a minimum. A trial's excess over a bound is what Optuna's constrained samplers
read (`Trial.set_constraint`: zero or less is feasible); what a trial costs and whether it
meets the bounds is search/trials/serving.py.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ConstraintsSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    latency_ms: float | None = Field(None, gt=0, description="one image at batch 1, at most")
    params_m: float | None = Field(None, gt=0, description="millions of parameters, at most")
    macs_g: float | None = Field(None, gt=0, description="GMACs an image, at most")
    throughput: float | None = Field(None, gt=0, description="images/s at batch 64, at least")
    # Serving cost is measured where it is a choice: backbones searched, or a bound above.
    # `measure: true` measures it anyway (its figures in trials.csv and the report).
    measure: bool = False

    @property
    def limits(self) -> dict[str, float]:
        """The bounds set, by name."""
        bounds = self.model_dump(exclude={"measure"})
        return {k: v for k, v in bounds.items() if v is not None}


__all__ = ["ConstraintsSpec"]
