"""Arrays as binary trait values: ``{buffer, dtype, shape}`` both ways."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InputError

ALLOWED_DTYPES = {"float32", "uint32", "int32", "uint8", "uint16", "float64"}
MAX_ELEMENTS = 5_000_000


def encode_array(array: np.ndarray, dtype: str = "float32") -> dict[str, Any]:
    """Encode `array` as ``{"buffer": bytes, "dtype": ..., "shape": [...]}``."""
    values = np.ascontiguousarray(np.asarray(array), dtype=dtype)
    return {"buffer": values.tobytes(), "dtype": dtype, "shape": list(values.shape)}


def decode_array(encoded: object, argument: str = "array") -> np.ndarray:
    """Decode a value from the front end; untrusted, so every field is checked."""
    if not isinstance(encoded, dict) or not {"buffer", "dtype", "shape"} <= encoded.keys():
        raise InputError(argument, "a dict with buffer, dtype and shape", encoded)
    dtype, shape = encoded["dtype"], encoded["shape"]
    if dtype not in ALLOWED_DTYPES:
        raise InputError(f"{argument}.dtype", f"one of {sorted(ALLOWED_DTYPES)}", dtype)
    if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise InputError(f"{argument}.shape", "a list of non-negative ints", shape)
    size = int(np.prod(shape)) if shape else 1
    if size > MAX_ELEMENTS:
        raise InputError(f"{argument}.shape", f"at most {MAX_ELEMENTS} elements", size)
    buffer = encoded["buffer"]
    if not isinstance(buffer, (bytes, bytearray, memoryview)):
        raise InputError(f"{argument}.buffer", "binary data", buffer)
    raw = bytes(buffer)
    if len(raw) != size * np.dtype(dtype).itemsize:
        raise InputError(f"{argument}.buffer", f"{size * np.dtype(dtype).itemsize} bytes", len(raw))
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def payload_bytes(value: object) -> int:
    """Approximate bytes a trait value costs on the wire (buffers + JSON of the rest)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, dict):
        return sum(payload_bytes(v) + len(str(k)) + 4 for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return sum(payload_bytes(v) + 1 for v in value) + 2
    return len(repr(value))
