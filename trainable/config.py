"""What one fine-tuning run needs: the data to prepare (`DataConfig`) and the knobs (`TrainConfig`).

Both are frozen pydantic models with extra="forbid": a misspelt key is an error, never ignored.
Every choice is a `Literal`, so a wrong value is answered with the allowed ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Precision = Literal["auto", "fp32", "bf16"]
# none: off; light: crop and flip; standard: fastai's defaults (crop, flip, rotation up to 10
# degrees, perspective warp, lighting); strong: wider ranges of each, and saturation.
AugmentLevel = Literal["none", "light", "standard", "strong", "trivial"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TrainConfig(_Frozen):
    """Every knob of one fine-tuning run; any of them can be searched or held by a study."""

    # What to fine-tune. `weights`: "imagenet", "none", or the path of a state-dict file.
    backbone: str = "efficientnet_lite0"
    weights: str = "imagenet"
    # The four the course teaches first.
    lr: float = Field(1e-3, gt=0, description="peak learning rate")
    batch_size: int = Field(32, ge=1, description="images per optimizer step")
    epochs: int = Field(3, ge=1, description="passes over the training split")
    # The epochs the lr schedule spans (null: `epochs`). Set above `epochs`, the run stops part
    # way along a longer schedule: how a search that spends epochs as its budget compares
    # trials at the same point of one schedule, and how its refit replays the chosen epoch.
    schedule_epochs: int | None = Field(None, ge=1)
    dropout: float = Field(0.2, ge=0, lt=1, description="dropout before the new linear head")
    # Optimisation. AdamW forgives a poorly chosen lr; SGD with momentum is the classic baseline.
    optimizer: Literal["adamw", "sgd"] = "adamw"
    weight_decay: float = Field(1e-4, ge=0, description="decoupled (AdamW) or L2 (SGD)")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD momentum; AdamW ignores it")
    # one_cycle: fastai's fit_one_cycle (warm up to lr, anneal); cosine: anneal from lr.
    schedule: Literal["one_cycle", "cosine", "constant"] = "one_cycle"
    # backbone: train the head only; warmup: head for one epoch, then everything (fine_tune);
    # probe: the head fitted to the frozen features first (a linear probe, full batch), then
    # everything from that head, from the first epoch (LP-FT: Kumar et al., ICLR 2022).
    freeze: Literal["none", "backbone", "warmup", "probe"] = "none"
    # Training split only, batched on the device. true is "standard", false is "none";
    # trivial: TrivialAugment (one random op of random strength an image), then light crops.
    augment: AugmentLevel = "none"
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    # Weights averaged along the run: validated, refitted and saved is an exponential moving
    # average of the weights (nearer an annealed model at any epoch: SWAD, ERM++). Its
    # half-life in epochs; null: the weights as the last step left them.
    ema_half_life: float | None = Field(None, gt=0, description="EMA half-life, in epochs")
    # L2-SP: alpha / 2 * ||w - w0||^2 on the backbone keeps it near its pretrained weights w0
    # (Li et al., 2018); 0: no pull. Most use where the training split is small.
    stay_near: float = Field(0.0, ge=0, description="L2-SP strength, toward the pretrained")
    # Discriminative learning rates: each block of the backbone, from the head down to the
    # stem, learns at this factor of the one above it (0.65 to 0.75 in Quick-Tune's space).
    layer_decay: float = Field(1.0, gt=0, le=1, description="lr factor a block, head to stem")
    # Class imbalance: draw rare classes more often, draw as many of each class as the rarest
    # has (a fresh draw every epoch), or weigh rare classes' loss more (positive weights per
    # tag for multi-label data, where only weighted_loss applies).
    balance: Literal["none", "oversample", "undersample", "weighted_loss"] = "none"
    # Multi-label data only: a tag is predicted where its sigmoid is above `threshold`, and
    # val_fbeta weighs recall `beta` times as much as precision (2, as in the planet example).
    threshold: float = Field(0.2, gt=0, lt=1)
    beta: float = Field(2.0, gt=0)
    early_stopping_patience: int | None = Field(
        None, ge=1, description="stop after this many epochs without a better val_loss"
    )
    seed: int = 0
    # auto: bf16 autocast on CUDA, fp32 on CPU (bf16 on CPU is slower without AMX units).
    precision: Precision = "auto"

    @field_validator("augment", mode="before")
    @classmethod
    def _on_off(cls, value: object) -> object:
        if isinstance(value, bool):  # the original on/off switch
            return "standard" if value else "none"
        return value

    @model_validator(mode="after")
    def _schedule_spans_the_run(self) -> TrainConfig:
        if self.schedule_epochs is not None and self.schedule_epochs < self.epochs:
            raise ValueError(
                f"schedule_epochs must be >= epochs (the schedule spans the whole run), got "
                f"schedule_epochs={self.schedule_epochs}, epochs={self.epochs}; leave it out"
            )
        return self

    @property
    def horizon(self) -> int:
        """The epochs the learning-rate schedule spans."""
        return self.schedule_epochs or self.epochs

    @model_validator(mode="after")
    def _warmup_needs_two_epochs(self) -> TrainConfig:
        if self.freeze == "warmup" and self.epochs < 2:
            raise ValueError(
                f"freeze=warmup trains the head for 1 epoch, then everything, so epochs must be "
                f">= 2, got {self.epochs}; use freeze=backbone or more epochs"
            )
        return self


class _DataBase(_Frozen):
    image_size: int = Field(64, ge=8, le=1024, description="images are resized to this square")
    val_fraction: float = Field(0.2, gt=0, lt=1)
    test_fraction: float = Field(0.2, gt=0, lt=1)
    seed: int = Field(0, description="fixes the split; independent of the training seed")
    # Horizontal flips are free extra data for photos but change what digits and text mean;
    # upside-down flips only suit images with no "up" (satellite, microscope).
    hflip: bool = True
    flip_vertical: bool = False
    # Decoded images are kept as one uint8 tensor when they fit this budget (MiB); trials then
    # share it from Ray's object store instead of decoding files every epoch.
    in_memory_mib: int = Field(2048, ge=0)

    @model_validator(mode="after")
    def _fractions_leave_training_data(self) -> _DataBase:
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError(
                "val_fraction + test_fraction must be < 1, got "
                f"{self.val_fraction} + {self.test_fraction}; lower one of them"
            )
        return self


class DigitsData(_DataBase):
    """scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes): offline."""

    source: Literal["digits"] = "digits"
    hflip: bool = False


class ImageFolderData(_DataBase):
    """A class-per-folder tree, or one with train/ val/ test/ subfolders used as given."""

    source: Literal["imagefolder"]
    root: Path
    # Skipped files (unreadable, not images) are counted and reported; "error" stops instead.
    on_bad_file: Literal["skip", "error"] = "skip"


class TorchvisionData(_DataBase):
    """A torchvision dataset class by name (CIFAR10, MNIST, ...); its test split is used as test."""

    source: Literal["torchvision"]
    dataset: str
    root: Path
    download: bool = False


class FakeData(_DataBase):
    """torchvision's FakeData: random images, for tests and smoke runs."""

    source: Literal["fake"]
    samples: int = Field(120, ge=2)
    classes: int = Field(3, ge=2)


class MultiLabelData(_DataBase):
    """Images with any number of tags each: a folder of images and a CSV of their tags.

    The CSV is planet's `image_name,tags` (the name without extension, tags separated by
    spaces) or one 0/1 column per tag after the name column.
    """

    source: Literal["multilabel"]
    root: Path
    labels: Path
    # The tags to learn, in this order; null: every tag the CSV names, sorted. A tag outside
    # this list is an error that names its row.
    tags: list[str] | None = Field(None, min_length=2)
    # An image with no tag is an error unless this is false (then it means "none of them").
    every_image_tagged: bool = True
    on_bad_file: Literal["skip", "error"] = "skip"


DataConfig = Annotated[
    DigitsData | ImageFolderData | TorchvisionData | FakeData | MultiLabelData,
    Field(discriminator="source"),
]
