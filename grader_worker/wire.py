"""The plain-data format that crosses between the grader and a student's process.

Only JSON values and raw ``.npy`` bytes (read with ``allow_pickle=False``) cross the boundary: no
pickle, no live objects, nothing that is eval'd. This module imports only the standard library and
numpy because the sandboxed student process loads it too (it is mounted read-only there).

``to_wire`` runs on the sending side and turns numbers, arrays, tensors, tuples, lists and dicts into
JSON-able data. ``from_wire`` runs on the receiving side and rebuilds plain Python and numpy values,
refusing anything else: it is the only door through which student data enters the grader.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import numpy as np

ARRAY = "__ndarray__"
TUPLE = "__tuple__"
FLOAT = "__float__"  # non-finite floats, which strict JSON cannot carry

MAX_DEPTH = 16
MAX_ARRAY_BYTES = 64 * 1024 * 1024
MAX_REPLY_BYTES = 24 * 1024 * 1024  # all the arrays of one value sent by the student's process (the grader refuses larger messages)
MAX_CONTAINER_ITEMS = 100_000
MAX_STRING = 100_000
_NUMERIC_KINDS = "biufc"


class WireError(ValueError):
    """A value could not be sent, or what arrived is not plain data of the accepted shapes."""


def to_wire(value: Any, _depth: int = 0, _left: list[int] | None = None, *, limit: int = MAX_REPLY_BYTES) -> Any:
    """Encode ``value`` as JSON-able plain data.

    Subclasses of float, int or ndarray are reduced to their base type's stored value, so an
    overridden ``__eq__``, ``__float__`` or ``__repr__`` never decides what is sent. The arrays of one
    value may hold MAX_REPLY_BYTES together (an array repeated in a list counts each time), checked as
    they are encoded, so that an oversized value fails at once with a clear message (``limit``: another
    bound, for what the grader sends).
    """
    _left = [limit, limit] if _left is None else _left  # (what is left, and the limit, for the message)
    if _depth > MAX_DEPTH:
        raise WireError("value is nested too deeply")
    if value is None or type(value) is bool:
        return value
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return _float_to_wire(float.__float__(value))
    if isinstance(value, str):
        text = str.__str__(value)
        if len(text) > MAX_STRING:
            raise WireError(f"string of {len(text)} characters is too long")
        return text
    if isinstance(value, np.generic):
        return _scalar_to_wire(value, _left)
    if isinstance(value, np.ndarray):
        return _array_to_wire(np.asarray(value), _left)
    tensor = _torch_tensor_to_numpy(value)
    if tensor is not None:
        return _array_to_wire(tensor, _left)
    if isinstance(value, (list, tuple)):
        items = list.__iter__(value) if isinstance(value, list) else tuple.__iter__(value)
        encoded = [to_wire(item, _depth + 1, _left) for item in items]
        if len(encoded) > MAX_CONTAINER_ITEMS:
            raise WireError("list is too long")
        return {TUPLE: encoded} if isinstance(value, tuple) else encoded
    if isinstance(value, dict):
        out = {}
        for key, item in dict.items(value):
            if not isinstance(key, (str, int, float)):
                raise WireError(f"dict key of type {type(key).__name__} cannot be sent")
            out[str(key)] = to_wire(item, _depth + 1, _left)
        return out
    raise WireError(f"a value of type {type(value).__name__} cannot be sent as plain data")


def from_wire(data: Any, _depth: int = 0) -> Any:
    """Decode plain data made by ``to_wire``; anything unexpected raises ``WireError``."""
    if _depth > MAX_DEPTH:
        raise WireError("value is nested too deeply")
    if data is None or isinstance(data, (bool, int)):
        return data
    if isinstance(data, float):
        return data
    if isinstance(data, str):
        if len(data) > MAX_STRING:
            raise WireError("string is too long")
        return data
    if isinstance(data, list):
        if len(data) > MAX_CONTAINER_ITEMS:
            raise WireError("list is too long")
        return [from_wire(item, _depth + 1) for item in data]
    if isinstance(data, dict):
        if ARRAY in data:
            return _array_from_wire(data[ARRAY])
        if TUPLE in data:
            items = data[TUPLE]
            if not isinstance(items, list):
                raise WireError("malformed tuple")
            return tuple(from_wire(item, _depth + 1) for item in items)
        if FLOAT in data:
            return _float_from_wire(data[FLOAT])
        if len(data) > MAX_CONTAINER_ITEMS:
            raise WireError("dict is too large")
        return {str(key): from_wire(item, _depth + 1) for key, item in data.items()}
    raise WireError(f"unexpected {type(data).__name__} in plain data")


def _float_to_wire(number: float) -> Any:
    if math.isfinite(number):
        return number
    return {FLOAT: "nan" if math.isnan(number) else ("inf" if number > 0 else "-inf")}


def _float_from_wire(text: Any) -> float:
    if text not in ("nan", "inf", "-inf"):
        raise WireError("malformed non-finite float")
    return float(text)


def _scalar_to_wire(value: np.generic, left: list[int]) -> Any:
    """A numpy scalar as the Python number it holds (long double as the nearest float64), or a 0-d array."""
    kind = value.dtype.kind
    if kind == "b":
        return bool(value)
    if kind in "iu":
        return int(value)
    if kind == "f":
        with np.errstate(over="ignore"):
            return _float_to_wire(float(np.float64(value)))
    if kind == "c":
        return _array_to_wire(np.asarray(value), left)
    return to_wire(str(value), 1)


def plain_dtype(array: np.ndarray) -> np.ndarray:
    """The array in a dtype every machine reads alike: native byte order; long double (float96/128) as
    float64 and complex256 as complex128. Shape (0-d included), dtype otherwise and values are kept."""
    dtype = array.dtype
    if dtype.kind == "f" and dtype.itemsize > 8:
        dtype = np.dtype(np.float64)
    elif dtype.kind == "c" and dtype.itemsize > 16:
        dtype = np.dtype(np.complex128)
    if not dtype.isnative:
        dtype = dtype.newbyteorder("=")
    if dtype == array.dtype:
        return array
    with np.errstate(over="ignore"):
        return array.astype(dtype)


def _array_to_wire(array: np.ndarray, left: list[int] | None = None) -> dict:
    if array.dtype.kind not in _NUMERIC_KINDS:
        if array.dtype.kind == "O":
            # Object arrays (ragged lists, say) travel as nested lists of plain values, if they can.
            return to_wire(array.tolist(), 1, left)
        raise WireError(f"arrays of dtype {array.dtype} cannot be sent")
    array = plain_dtype(array)
    if array.nbytes > MAX_ARRAY_BYTES:
        raise WireError(f"array of {array.nbytes} bytes is too large")
    if left is not None:
        left[0] -= array.nbytes
        if left[0] < 0:
            raise WireError("the value is too large to send: its arrays hold more than the limit together "
                            f"({left[-1] / 2**20:g} MiB for a value the grader asks for)")
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)  # (any strides; a 0-d array stays 0-d, unlike np.ascontiguousarray)
    return {ARRAY: base64.b64encode(buffer.getvalue()).decode("ascii")}


def _array_from_wire(text: Any) -> np.ndarray:
    if not isinstance(text, str) or len(text) > MAX_ARRAY_BYTES * 4 // 3 + 1024:
        raise WireError("malformed or oversized array")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any failure here means "not a valid .npy"
        raise WireError(f"malformed array: {exc}") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in _NUMERIC_KINDS:
        raise WireError("array has a non-numeric dtype")
    return plain_dtype(array)


def _torch_tensor_to_numpy(value: Any) -> np.ndarray | None:
    """A torch tensor as a numpy array of what it stores, without importing torch when nobody else has.

    Subclasses are read with their ``__torch_function__`` and ``__torch_dispatch__`` overrides switched
    off, so what is stored is what is sent, whatever ``.detach()`` or ``.numpy()`` would claim. A tensor
    that requires grad, or lives on another device, is detached and copied to the CPU; one without data
    (on the meta device, say) is refused."""
    import contextlib
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor):
        return None
    with contextlib.ExitStack() as plain:
        for name in ("DisableTorchFunctionSubclass", "_DisableTorchDispatch"):
            if hasattr(torch._C, name):
                plain.enter_context(getattr(torch._C, name)())
        if torch.Tensor.is_meta.__get__(value) or value.device.type == "meta":
            raise WireError("a tensor without data (on the meta device) cannot be sent; return a real tensor")
        try:
            tensor = torch.Tensor.detach(value)
            if tensor.layout == torch.strided and tensor.numel() and not tensor.data_ptr():  # (read, it would crash)
                raise WireError("a tensor without storage (a wrapper subclass, say) cannot be sent; return a real tensor")
            if tensor.is_sparse:
                tensor = tensor.to_dense()
            if tensor.is_quantized:
                tensor = tensor.dequantize()
            tensor = tensor.cpu().resolve_conj().resolve_neg()
            if tensor.dtype == torch.bfloat16:
                tensor = tensor.float()
            elif tensor.dtype == torch.complex32:
                tensor = tensor.to(torch.complex64)
            return np.array(torch.Tensor.numpy(tensor), copy=True)
        except WireError:
            raise
        except Exception as exc:  # noqa: BLE001 - no storage to read (a wrapper subclass), an exotic layout
            raise WireError(f"a tensor whose data cannot be read ({type(exc).__name__}: {str(exc)[:200]})") from None
