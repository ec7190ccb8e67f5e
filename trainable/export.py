"""model.onnx: the refit model for consumers that are not PyTorch, preprocessing inside.

The graph takes raw uint8 images, NCHW of any height and width, and does what `trainable`
does to an image before the model sees it: resize the shorter side to the image size
(bilinear, antialiased), centre-crop a square, then the model's own normalisation; it returns
probabilities (softmax over classes, or a sigmoid per tag). The model is exported by PyTorch's
TorchScript exporter at a fixed square size, and the preprocessing is ONNX's own Resize
(antialias, keep_aspect_ratio_policy: not_smaller) and CenterCropPad (opset 18), composed in
front of it, so the exported graph never needs data-dependent shapes.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from trainable.batches import Batches
from trainable.data import Split

OPSET = 18
INPUT, OUTPUT = "images", "probabilities"


class _Probabilities(nn.Module):
    def __init__(self, model: nn.Module, multilabel: bool) -> None:
        super().__init__()
        self.model, self.multilabel = model, multilabel

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        logits = self.model(pixels)
        return logits.sigmoid() if self.multilabel else logits.softmax(1)


def export_onnx(model: nn.Module, image_size: int, path: Path, multilabel: bool = False) -> Path:
    """Write `model` (a Classifier, on any device) to `path` as ONNX, preprocessing included."""
    import onnx
    from onnx import compose

    core = _Probabilities(model.cpu().eval(), multilabel).eval()
    pixels = torch.rand(1, 3, image_size, image_size)
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on TorchScript and tracing
        traced = Path(folder) / "core.onnx"
        torch.onnx.export(
            core,
            (pixels,),
            str(traced),
            input_names=["pixels"],
            output_names=[OUTPUT],
            dynamic_axes={"pixels": {0: "batch"}, OUTPUT: {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
        exported = onnx.load(str(traced))
    merged = compose.merge_models(
        _preprocessing(image_size, exported.ir_version), exported, io_map=[("pixels", "pixels")]
    )
    onnx.checker.check_model(merged)
    temporary = path.with_name(f".{path.name}.tmp")
    onnx.save(merged, str(temporary))
    os.replace(temporary, path)
    return path


def _preprocessing(image_size: int, ir_version: int):  # type: ignore[no-untyped-def]
    """uint8 images -> [0, 1] floats of image_size squares, as trainable.images.to_square."""
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Cast", [INPUT], ["as_float"], to=TensorProto.FLOAT),
        helper.make_node(
            "Resize",
            ["as_float", "", "", "size"],
            ["resized"],
            mode="linear",
            antialias=1,
            axes=[2, 3],
            keep_aspect_ratio_policy="not_smaller",  # the shorter side becomes image_size
            coordinate_transformation_mode="half_pixel",
        ),
        helper.make_node("CenterCropPad", ["resized", "size"], ["cropped"], axes=[2, 3]),
        helper.make_node("Round", ["cropped"], ["rounded"]),  # as uint8 images are
        helper.make_node("Clip", ["rounded", "zero", "full"], ["clipped"]),
        helper.make_node("Div", ["clipped", "full"], ["pixels"]),
    ]
    constants = [
        helper.make_tensor("size", TensorProto.INT64, [2], [image_size, image_size]),
        helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
        helper.make_tensor("full", TensorProto.FLOAT, [], [255.0]),
    ]
    graph = helper.make_graph(
        nodes,
        "preprocess",
        [helper.make_tensor_value_info(INPUT, TensorProto.UINT8, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["batch", 3, None, None])],
        initializer=constants,
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=ir_version
    )


class OnnxModel:
    """model.onnx in ONNX Runtime on the CPU: probabilities of raw uint8 images."""

    def __init__(self, path: Path) -> None:
        import onnxruntime

        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def probabilities(self, images: torch.Tensor | np.ndarray, batch_size: int = 64) -> np.ndarray:
        array = images.numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
        parts = [
            self.session.run([OUTPUT], {INPUT: array[start : start + batch_size]})[0]
            for start in range(0, len(array), batch_size)
        ]
        return np.concatenate(parts) if parts else np.empty((0, 0), dtype=np.float32)


def onnx_agreement(
    path: Path, model: nn.Module, split: Split, multilabel: bool = False, threshold: float = 0.2
) -> dict[str, float]:
    """model.onnx against the PyTorch model (fp32, CPU) on a split's uint8 images: how often
    their answers agree (top-1 class, or each tag at `threshold`), the largest difference in a
    probability, and for single-label data each one's accuracy."""
    onnx_model, core = OnnxModel(path), _Probabilities(model.cpu().eval(), multilabel).eval()
    ours, theirs, truth = [], [], []
    with torch.inference_mode():
        for images, labels in Batches(split, 64, torch.device("cpu")):
            ours.append(core(images).numpy())
            theirs.append(onnx_model.probabilities(images))
            truth.append(labels.numpy())
    if not ours:
        return {"images": 0}
    torch_p, onnx_p, labels = np.concatenate(ours), np.concatenate(theirs), np.concatenate(truth)
    scores = {
        "images": len(labels),
        "max_probability_difference": float(abs(torch_p - onnx_p).max()),
    }
    if multilabel:
        agree = (torch_p > threshold) == (onnx_p > threshold)
        return {**scores, "tag_agreement": float(agree.mean())}
    torch_top, onnx_top = torch_p.argmax(1), onnx_p.argmax(1)
    return {
        **scores,
        "top1_agreement": float((torch_top == onnx_top).mean()),
        "accuracy": float((onnx_top == labels).mean()),
        "torch_accuracy": float((torch_top == labels).mean()),
    }
