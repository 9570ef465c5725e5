"""grader_worker/wire.py, kernel-free: the shared byte budget of one value's arrays (every container and
array-like counts, at its exact edge), dtypes that not every machine reads alike (long double, complex256,
byte-swapped) arriving as their portable equivalents, and torch tensors read by what they store: sparse,
quantized and complex32 ones converted; meta tensors, storage-less wrapper subclasses and lying subclasses
neither trusted nor read blindly.
"""

from __future__ import annotations

import base64
import io
import warnings

import numpy as np
import pytest
import torch

from grader_worker.wire import ARRAY, FLOAT, WireError, from_wire, to_wire

OVER_BUDGET = "^the value is too large to send: its arrays hold more than the limit together"


def npy(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def sent_array(encoded: dict) -> np.ndarray:
    """The array exactly as it was written on the wire (before the receiver converts anything)."""
    return np.load(io.BytesIO(base64.b64decode(encoded[ARRAY])), allow_pickle=False)


# --- the reply budget -----------------------------------------------------------------------------


def test_an_array_exactly_at_the_budget_is_sent_and_one_byte_more_is_refused():
    assert from_wire(to_wire(np.zeros(10), limit=80)).tolist() == [0.0] * 10  # 10 float64 = 80 bytes
    with pytest.raises(WireError, match=OVER_BUDGET):
        to_wire(np.zeros(11), limit=80)
    with pytest.raises(WireError, match=OVER_BUDGET):
        to_wire(np.zeros(81, dtype=np.uint8), limit=80)
    # each call has its own budget: a value sent once does not use up the next one's
    for _ in range(3):
        assert list(to_wire(np.zeros(10), limit=80)) == [ARRAY]


def test_the_arrays_of_one_value_share_the_budget_in_every_container():
    five, six = np.zeros(5), np.zeros(6)  # 40 and 48 bytes: each fits in 80, both together do not
    assert len(to_wire([five, five], limit=80)) == 2
    for value in ([five, six], [six, six], (five, six), {"a": five, "b": six}, {"a": [(five,)], "b": [[six]]},
                  [five, {"k": (six,)}]):
        with pytest.raises(WireError, match=OVER_BUDGET):
            to_wire(value, limit=80)


def test_complex_scalars_tensors_and_object_arrays_count_against_the_budget():
    assert len(to_wire([np.complex128(1 + 1j), np.zeros(8)], limit=80)) == 2  # 16 + 64 bytes
    with pytest.raises(WireError, match=OVER_BUDGET):
        to_wire([np.complex128(1 + 1j), np.zeros(9)], limit=80)  # 16 + 72 bytes
    assert len(to_wire([torch.zeros(10), torch.zeros(10)], limit=80)) == 2  # float32: 40 + 40 bytes
    with pytest.raises(WireError, match=OVER_BUDGET):
        to_wire([torch.zeros(10), torch.zeros(11)], limit=80)
    with pytest.raises(WireError, match=OVER_BUDGET):
        to_wire(torch.zeros(11, dtype=torch.float64), limit=80)
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = np.zeros(5), np.zeros(6)
    with pytest.raises(WireError, match=OVER_BUDGET):
        to_wire(ragged, limit=80)
    with pytest.raises(WireError, match=OVER_BUDGET):
        to_wire([np.zeros(5), ragged[1:]], limit=80)


def test_the_default_budget_is_24_mib_and_the_message_says_so():
    # a broadcast array claims its full size without holding it: refused before anything is encoded
    just_over = np.broadcast_to(np.float64(0.0), (3 * 2**20 + 1,))  # 24 MiB + 8 bytes
    with pytest.raises(WireError) as refused:
        to_wire(just_over)
    assert str(refused.value) == ("the value is too large to send: its arrays hold more than the limit together "
                                  "(24 MiB for a value the grader asks for)")
    with pytest.raises(WireError, match=OVER_BUDGET):
        to_wire([np.broadcast_to(np.float64(0.0), (2**20,))] * 4)  # 8 MiB four times over


# --- dtypes every machine reads alike -------------------------------------------------------------


def test_long_double_arrives_as_float64_and_complex256_as_complex128():
    long_double = np.array([1.5, -2.25, 0.0], dtype=np.longdouble)
    back = from_wire(to_wire(long_double))
    assert back.dtype == np.float64 and back.tolist() == [1.5, -2.25, 0.0]
    assert sent_array(to_wire(long_double)).dtype == np.float64
    wide = np.array([1 + 2j, -0.5j], dtype=np.clongdouble)
    back = from_wire(to_wire(wide))
    assert back.dtype == np.complex128 and back.tolist() == [1 + 2j, -0.5j]  # the imaginary parts kept
    assert from_wire({ARRAY: npy(long_double)}).dtype == np.float64  # whoever wrote it, it is read as float64
    assert from_wire({ARRAY: npy(wide)}).dtype == np.complex128
    scalar = to_wire(np.longdouble(0.75))
    assert scalar == 0.75 and type(scalar) is float
    back = from_wire(to_wire(np.clongdouble(3 - 4j)))
    assert back.shape == () and back.dtype == np.complex128 and complex(back) == 3 - 4j


def test_long_doubles_beyond_float64_range_become_infinities_without_warnings():
    huge = np.array([np.longdouble(10) ** 400, -np.longdouble(10) ** 400, 2.0], dtype=np.longdouble)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning here would reach the student's output
        back = from_wire(to_wire(huge))
        scalar = to_wire(np.longdouble(10) ** 400)
    if np.finfo(np.longdouble).max > np.finfo(np.float64).max:  # (where long double is wider than double)
        assert back.dtype == np.float64 and back.tolist() == [np.inf, -np.inf, 2.0]
        assert scalar == {FLOAT: "inf"}


def test_dtypes_that_are_portable_already_are_kept():
    for dtype in (np.float16, np.float32, np.float64, np.complex64, np.complex128, np.int8, np.uint16, np.int64, np.bool_):
        array = np.array([1, 0, 1], dtype=dtype)
        back = from_wire(to_wire(array))
        assert back.dtype == dtype and np.array_equal(back, array), dtype


def test_byte_swapped_arrays_arrive_in_native_byte_order_with_their_values():
    for dtype in (">f8", "<f8", ">f4", ">i4", "<i2", ">u8", ">c16", ">c8"):
        swapped = np.array([1, 2, -3, 0], dtype=dtype) if "u" not in dtype else np.array([1, 2, 3, 0], dtype=dtype)
        native = np.dtype(dtype).newbyteorder("=")
        for back in (from_wire(to_wire(swapped)), from_wire({ARRAY: npy(swapped)})):
            assert back.dtype == native and back.dtype.isnative, dtype
            assert back.tolist() == swapped.tolist(), dtype
        assert sent_array(to_wire(swapped)).dtype.isnative, dtype


# --- torch tensors --------------------------------------------------------------------------------


def test_sparse_quantized_and_complex32_tensors_arrive_as_their_values():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (torch warns that these layouts are experimental or deprecated)
        sparse = torch.sparse_coo_tensor([[0, 2]], [1.0, 3.0], (4,))
        quantized = torch.quantize_per_tensor(torch.tensor([0.5, 1.0, 2.0]), 0.5, 0, torch.quint8)
        half_complex = torch.tensor([1 + 2j, -0.5j], dtype=torch.complex32)
        back_sparse, back_quantized, back_complex = (from_wire(to_wire(t)) for t in (sparse, quantized, half_complex))
    assert back_sparse.dtype == np.float32 and back_sparse.tolist() == [1.0, 0.0, 3.0, 0.0]
    assert back_quantized.dtype == np.float32 and back_quantized.tolist() == [0.5, 1.0, 2.0]
    assert back_complex.dtype == np.complex64 and back_complex.tolist() == [1 + 2j, -0.5j]


def test_empty_tensors_are_sent():
    for shape in ((0,), (0, 3), (2, 0)):
        back = from_wire(to_wire(torch.zeros(shape)))
        assert back.shape == shape and back.dtype == np.float32


def test_meta_tensors_are_refused_even_when_they_claim_another_device():
    meta = "^a tensor without data \\(on the meta device\\) cannot be sent; return a real tensor$"
    with pytest.raises(WireError, match=meta):
        to_wire(torch.empty(2, 3, device="meta"))

    class ClaimsCPU(torch.Tensor):
        @property
        def device(self):
            return torch.device("cpu")

    class ClaimsMeta(torch.Tensor):
        @property
        def device(self):
            return torch.device("meta")

    with pytest.raises(WireError, match=meta):
        to_wire(torch.empty(2, device="meta").as_subclass(ClaimsCPU))
    with pytest.raises(WireError, match=meta):  # a tensor that says it holds no data is not read
        to_wire(torch.ones(2).as_subclass(ClaimsMeta))


def test_subclasses_that_override_torch_functions_or_dispatch_send_what_they_store():
    class FunctionLiar(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return torch.tensor([666.0])

    class DispatchLiar(torch.Tensor):
        __torch_function__ = torch._C._disabled_torch_function_impl

        @classmethod
        def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
            return torch.tensor([666.0])

    for liar in (FunctionLiar, DispatchLiar):
        tensor = torch.Tensor._make_subclass(liar, torch.tensor([1.0, 2.0]))
        back = from_wire(to_wire(tensor))
        assert type(back) is np.ndarray and back.dtype == np.float32 and back.tolist() == [1.0, 2.0], liar


def test_a_wrapper_subclass_without_storage_is_refused_not_read():
    """Read with its dispatch switched off, a wrapper subclass's data pointer is null: reading it used to
    send whatever memory lay there, or crash the student's process."""

    class Wrapper(torch.Tensor):
        @staticmethod
        def __new__(cls, inner):
            return torch.Tensor._make_wrapper_subclass(cls, inner.shape, dtype=inner.dtype)

        @classmethod
        def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    with pytest.raises(WireError, match="^a tensor without storage \\(a wrapper subclass, say\\) cannot be sent; return a real tensor$"):
        to_wire(Wrapper(torch.zeros(1000)))
    assert from_wire(to_wire(Wrapper(torch.zeros(0)))).shape == (0,)  # nothing to read: nothing to refuse


def test_an_unreadable_tensor_is_refused_with_its_error_cut_to_200_characters(monkeypatch):
    def unreadable(tensor):
        raise RuntimeError("y" * 300)

    monkeypatch.setattr(torch.Tensor, "numpy", unreadable)
    with pytest.raises(WireError) as refused:
        to_wire(torch.zeros(2))
    assert str(refused.value) == "a tensor whose data cannot be read (RuntimeError: " + "y" * 200 + ")"


def test_the_message_names_the_limit_the_caller_gave():
    with pytest.raises(WireError) as refused:
        to_wire([np.zeros(2**17)] * 3, limit=2 * 2**20)  # 1 MiB three times, against 2 MiB
    assert str(refused.value).endswith("(2 MiB for a value the grader asks for)")
