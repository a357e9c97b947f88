"""The engine on a CUDA device: same scores as on the CPU, model untouched. Skipped without a GPU."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from netviz_widget import Explainer, NetViz
from netviz_widget.datasets import digits_cnn, digits_mlp, load_digits_split
from netviz_widget.errors import InputError
from tests.model_state import assert_unchanged, fingerprint

cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                          reason="no CUDA device on this machine (the device path runs where a GPU is lent)")


def test_device_argument_must_match_the_model():
    model = digits_mlp()
    with pytest.raises(InputError, match="device: expected None or the model's device cpu"):
        Explainer(model, load_digits_split().x_test[:2], device="meta")
    assert Explainer(model, load_digits_split().x_test[:2], device="cpu").device == torch.device("cpu")


@cuda
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_cuda_scores_equal_cpu_scores(kind):
    data = load_digits_split()
    model = digits_mlp() if kind == "mlp" else digits_cnn()
    x = data.x_test[:6] if kind == "mlp" else data.images(data.x_test[:6])
    reference = data.x_train[:100] if kind == "mlp" else data.images(data.x_train[:100])
    cpu = Explainer(model, x, reference=reference).snapshot()
    # H100s use TF32 for convolutions and matmuls by default (~1e-3 relative): compare in full FP32
    tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        _compare_on_cuda(model, x, reference, cpu)
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32


def _compare_on_cuda(model, x, reference, cpu):
    gpu_model = copy.deepcopy(model).cuda()
    before = fingerprint(gpu_model)
    ex = Explainer(gpu_model, x.cuda(), reference=reference.cuda())
    assert ex.device.type == "cuda"
    gpu = ex.snapshot(dataset=True)
    np.testing.assert_allclose(gpu.logits, cpu.logits, rtol=1e-4, atol=1e-4)
    for layer in cpu.node_scores:
        np.testing.assert_allclose(gpu.node_scores[layer], cpu.node_scores[layer], rtol=1e-3, atol=1e-4)
    for key in cpu.edge_scores:
        np.testing.assert_allclose(gpu.edge_scores[key], cpu.edge_scores[key], rtol=1e-3, atol=1e-4)
    layer = ex.graph.layers[1].name
    for mode in ("zero", "mean", "resample", "patch"):
        ex.intervene(layer, [0, 1], mode, patch_input=x[:1].cuda() if mode == "patch" else None)
    ex.neuron(layer, 0)
    ex.explain(0)
    ex.reset()
    viz = NetViz(gpu_model, x.cuda(), reference=reference.cuda())
    viz.select(layer, 1)
    viz.intervene(mode="zero")
    assert_unchanged(gpu_model, before)
