"""Token ids into an nn.Embedding: the engine works from the embedding output on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netviz_widget import Explainer
from netviz_widget.errors import InputError
from tests.model_state import assert_unchanged, fingerprint
from tests.zoo_sequences import EmbeddingBag


def _model_and_ids():
    torch.manual_seed(0)
    return EmbeddingBag().eval(), torch.randint(1, 20, (3, 6))


def test_the_input_layer_is_the_embedding_and_logits_match_the_model():
    model, ids = _model_and_ids()
    before = fingerprint(model)
    ex = Explainer(model, ids, n_steps=4)
    assert torch.equal(ex.tokens, ids)
    assert tuple(ex.inputs.shape) == (3, 6, 6)  # (batch, embedding dims, positions)
    assert ex.graph.input_layer.n_units == model.embedding.embedding_dim
    with torch.no_grad():
        np.testing.assert_allclose(ex.snapshot().logits, model(ids).numpy(), rtol=1e-6)
    assert_unchanged(model, before)


def test_a_weight_change_in_the_embedding_is_seen():
    model, ids = _model_and_ids()
    ex = Explainer(model, ids, n_steps=4)
    first = ex.snapshot().logits.copy()
    with torch.no_grad():
        model.embedding.weight.mul_(2.0)
        expected = model(ids).numpy()
    np.testing.assert_allclose(ex.snapshot().logits, expected, rtol=1e-6)
    assert not np.allclose(first, expected)


def test_patching_with_token_ids_equals_patching_with_their_embedding():
    model, ids = _model_and_ids()
    ex = Explainer(model, ids, n_steps=4)
    other = torch.randint(1, 20, (3, 6), generator=torch.Generator().manual_seed(5))
    by_ids = ex.intervene("fc", [0, 1, 2], "patch", patch_input=other).logits.copy()
    ex.undo()
    embedded = model.embedding(other).detach().movedim(-1, 1)
    by_embedding = ex.intervene("fc", [0, 1, 2], "patch", patch_input=embedded).logits
    np.testing.assert_array_equal(by_ids, by_embedding)


def test_token_ids_out_of_range_are_refused_naming_the_argument():
    model, _ = _model_and_ids()
    with pytest.raises(InputError, match=r"inputs: expected token ids in \[0, 20\)"):
        Explainer(model, torch.tensor([[1, 25]]))
