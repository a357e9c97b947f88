
import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield
