"""Arrays as binary trait values: ``{buffer, dtype, shape}`` (Python → JS; the front end sends
requests, never arrays)."""

from __future__ import annotations

from typing import Any

import numpy as np


def encode_array(array: np.ndarray, dtype: str = "float32") -> dict[str, Any]:
    """Encode `array` as ``{"buffer": bytes, "dtype": ..., "shape": [...]}``."""
    values = np.ascontiguousarray(np.asarray(array), dtype=dtype)
    return {"buffer": values.tobytes(), "dtype": dtype, "shape": list(values.shape)}


def payload_bytes(value: object) -> int:
    """Approximate bytes a trait value costs on the wire (buffers + JSON of the rest)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, dict):
        return sum(payload_bytes(v) + len(str(k)) + 4 for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return sum(payload_bytes(v) + 1 for v in value) + 2
    return len(repr(value))
