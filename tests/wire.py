"""Decode the binary trait values the widget ships (``{buffer, dtype, shape}``), to check them."""

from __future__ import annotations

import numpy as np


def decode_array(encoded: dict) -> np.ndarray:
    """The array an `encode_array` value holds (a copy)."""
    return np.frombuffer(bytes(encoded["buffer"]), dtype=encoded["dtype"]).reshape(encoded["shape"]).copy()
