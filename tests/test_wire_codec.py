"""grader_worker/wire.py, the only door for student data into the grader: exact encodings, every limit
at its edge, and everything malformed refused with ``WireError``.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import torch

from grader_worker import wire
from grader_worker.wire import ARRAY, FLOAT, TUPLE, WireError, from_wire, to_wire


def npy(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def test_plain_values_are_sent_as_themselves():
    for value in (None, True, False, 0, -7, 2**70, 1.5, -0.0, "", "text"):
        encoded = to_wire(value)
        assert encoded == value and type(encoded) is type(value), value
        assert from_wire(json.loads(json.dumps(encoded))) == value
    assert to_wire([1, [2.5, None]]) == [1, [2.5, None]]
    assert to_wire((1, (2,))) == {TUPLE: [1, {TUPLE: [2]}]} and (TUPLE, FLOAT, ARRAY) == ("__tuple__", "__float__", "__ndarray__")
    assert to_wire({"a": 1, 2: "b", 1.5: None}) == {"a": 1, "2": "b", "1.5": None}
    assert from_wire({"a": [1, {TUPLE: [2, 3]}]}) == {"a": [1, (2, 3)]}
    assert from_wire(7) == 7 and from_wire(2.5) == 2.5 and from_wire(None) is None and from_wire(False) is False


def test_non_finite_floats_travel_as_tagged_strings():
    assert to_wire(float("nan")) == {FLOAT: "nan"}
    assert to_wire(float("inf")) == {FLOAT: "inf"} and to_wire(float("-inf")) == {FLOAT: "-inf"}
    assert to_wire(np.float64("-inf")) == {FLOAT: "-inf"}
    assert np.isnan(from_wire({FLOAT: "nan"})) and from_wire({FLOAT: "inf"}) == np.inf and from_wire({FLOAT: "-inf"}) == -np.inf
    for bad in ("NaN", "infinity", "1e999", 5, None):
        with pytest.raises(WireError, match="^malformed non-finite float$"):
            from_wire({FLOAT: bad})


def test_subclasses_send_their_stored_values():
    class Int(int):
        def __int__(self):
            return 99

    class Text(str):
        def __str__(self):
            return "lie"

    assert to_wire(Int(5)) == 5 and type(to_wire(Int(5))) is int
    assert to_wire(Text("true")) == "true" and type(to_wire(Text("true"))) is str

    class Items(list):
        def __iter__(self):
            return iter([666])

    class Pair(tuple):
        def __iter__(self):
            return iter([666])

    class Entries(dict):
        def items(self):
            return [("x", 666)]

    assert to_wire(Items([1, 2])) == [1, 2]
    assert to_wire(Pair((1, 2))) == {TUPLE: [1, 2]}
    assert to_wire(Entries(a=1)) == {"a": 1}


def test_numpy_scalars_and_arrays():
    assert to_wire(np.int64(3)) == 3 and type(to_wire(np.int64(3))) is int
    assert to_wire(np.float32(0.5)) == 0.5 and to_wire(np.bool_(True)) is True
    assert to_wire(np.str_("abc")) == "abc"
    complex_back = from_wire(to_wire(np.complex128(1 + 2j)))  # a complex numpy scalar travels as a 0-d array
    assert complex_back.shape == () and complex_back.dtype == np.complex128 and complex_back == 1 + 2j
    for array in (np.arange(6.0).reshape(2, 3), np.array([1, 2], dtype=np.int8), np.array([True, False]), np.zeros((0, 2)),
                  np.asfortranarray(np.arange(6).reshape(2, 3)), np.arange(10)[::2]):
        encoded = to_wire(array)
        assert list(encoded) == [ARRAY]
        back = from_wire(encoded)
        assert type(back) is np.ndarray and back.dtype == array.dtype and back.shape == array.shape
        assert np.array_equal(back, array)
    assert to_wire(np.arange(3.0)) == {ARRAY: npy(np.arange(3.0))}


def test_object_arrays_travel_as_lists_and_other_dtypes_are_refused():
    assert to_wire(np.array([[1, 2], [3]], dtype=object)) == [[1, 2], [3]]
    assert to_wire(np.array([1.5, None], dtype=object)) == [1.5, None]
    with pytest.raises(WireError, match="^a value of type object cannot be sent as plain data$"):
        to_wire(np.array([object()], dtype=object))
    with pytest.raises(WireError, match=r"^arrays of dtype <U1 cannot be sent$"):
        to_wire(np.array(["a"]))
    with pytest.raises(WireError, match=r"^arrays of dtype datetime64\[D\] cannot be sent$"):
        to_wire(np.array(["2026-01-01"], dtype="datetime64[D]"))


def test_torch_tensors_become_arrays():
    back = from_wire(to_wire(torch.tensor([[1.0, 2.0]], requires_grad=True) * 2))
    assert type(back) is np.ndarray and back.dtype == np.float32 and back.tolist() == [[2.0, 4.0]]
    half = from_wire(to_wire(torch.tensor([0.5, 1.5], dtype=torch.float16)))
    assert half.dtype == np.float16 and half.tolist() == [0.5, 1.5]  # the dtype is kept
    brain = from_wire(to_wire(torch.tensor([0.5, 1.5], dtype=torch.bfloat16)))
    assert brain.dtype == np.float32 and brain.tolist() == [0.5, 1.5]
    ints = from_wire(to_wire(torch.arange(3)))
    assert ints.dtype == np.int64 and ints.tolist() == [0, 1, 2]
    source = torch.zeros(2)
    sent = wire._torch_tensor_to_numpy(source)
    source += 1
    assert sent.tolist() == [0.0, 0.0]  # a copy, not a view of the student's tensor
    assert wire._torch_tensor_to_numpy(np.zeros(2)) is None and wire._torch_tensor_to_numpy([1.0]) is None


def test_limits_at_their_edges():
    assert wire.MAX_DEPTH == 16 and wire.MAX_STRING == 100_000 and wire.MAX_CONTAINER_ITEMS == 100_000

    def nested(levels):
        value = 1
        for _ in range(levels):
            value = [value]
        return value

    # 16 lists: the innermost number sits at depth 16, the deepest accepted
    assert to_wire(nested(16)) == nested(16) and from_wire(nested(16)) == nested(16)
    with pytest.raises(WireError, match="^value is nested too deeply$"):
        to_wire(nested(17))
    with pytest.raises(WireError, match="^value is nested too deeply$"):
        from_wire(nested(17))
    tuples = ()
    for _ in range(16):
        tuples = (tuples,)
    assert from_wire(to_wire(tuples)) == tuples
    with pytest.raises(WireError, match="^value is nested too deeply$"):
        to_wire((tuples,))
    deep_dict: dict = {}
    for _ in range(16):
        deep_dict = {"k": deep_dict}
    assert from_wire(to_wire(deep_dict)) == deep_dict
    with pytest.raises(WireError, match="^value is nested too deeply$"):
        to_wire({"k": deep_dict})
    with pytest.raises(WireError, match="^value is nested too deeply$"):
        from_wire({"k": to_wire(deep_dict)})
    assert to_wire("x" * 100_000) == "x" * 100_000 and from_wire("x" * 100_000) == "x" * 100_000
    with pytest.raises(WireError, match="^string of 100001 characters is too long$"):
        to_wire("x" * 100_001)
    with pytest.raises(WireError, match="^string is too long$"):
        from_wire("x" * 100_001)
    assert len(to_wire([0] * 100_000)) == 100_000 and len(from_wire([0] * 100_000)) == 100_000
    with pytest.raises(WireError, match="^list is too long$"):
        to_wire([0] * 100_001)
    with pytest.raises(WireError, match="^list is too long$"):
        to_wire(tuple([0] * 100_001))
    with pytest.raises(WireError, match="^list is too long$"):
        from_wire([0] * 100_001)
    big = {str(i): 0 for i in range(100_000)}
    assert len(from_wire(big)) == 100_000
    with pytest.raises(WireError, match="^dict is too large$"):
        from_wire({**big, "one more": 0})


def test_arrays_over_the_size_limit(monkeypatch):
    monkeypatch.setattr(wire, "MAX_ARRAY_BYTES", 80)
    assert from_wire(to_wire(np.zeros(10))).shape == (10,)  # exactly 80 bytes
    with pytest.raises(WireError, match="^array of 88 bytes is too large$"):
        to_wire(np.zeros(11))
    text = npy(np.zeros(10))
    limit = 80 * 4 // 3 + 1024
    assert len(text) <= limit and from_wire({ARRAY: text}).shape == (10,)
    with pytest.raises(WireError, match="^malformed or oversized array$"):
        from_wire({ARRAY: "A" * (limit + 1)})
    assert from_wire({ARRAY: text + "=" * 0}).shape == (10,)


def test_malformed_arrays_and_unexpected_data_are_refused():
    with pytest.raises(WireError, match="^malformed or oversized array$"):
        from_wire({ARRAY: 12})
    with pytest.raises(WireError, match="^malformed array: "):
        from_wire({ARRAY: "not base64!"})
    with pytest.raises(WireError, match="^malformed array: "):
        from_wire({ARRAY: base64.b64encode(b"not an npy file").decode()})
    with pytest.raises(WireError, match="^array has a non-numeric dtype$"):
        from_wire({ARRAY: npy(np.array(["abc"]))})
    with pytest.raises(WireError, match="^malformed tuple$"):
        from_wire({TUPLE: "abc"})
    with pytest.raises(WireError, match="^unexpected set in plain data$"):
        from_wire({1, 2})
    with pytest.raises(WireError, match="^unexpected tuple in plain data$"):
        from_wire((1, 2))
    with pytest.raises(WireError, match="^dict key of type tuple cannot be sent$"):
        to_wire({(1, 2): 3})
    with pytest.raises(WireError, match="^a value of type set cannot be sent as plain data$"):
        to_wire({1, 2})
    with pytest.raises(WireError, match="^a value of type complex cannot be sent as plain data$"):
        to_wire(1 + 2j)
    assert from_wire({"k": {TUPLE: []}}) == {"k": ()}
    assert from_wire({3: "x"}) == {"3": "x"}  # keys become strings whatever arrives


def test_zero_dimensional_arrays_and_tensors_stay_scalars():
    """A 0-d array or tensor (``loss = ((y_hat - y) ** 2).sum()`` in torch) must arrive as a scalar:
    it used to arrive with shape (1,) and fail a scalar answer with "wrong shape"."""
    from grader.checks.compare import compare
    from grader.rubric import Tolerance

    for value in (np.array(3.5), torch.tensor(3.5), torch.tensor([1.0, 2.5]).sum(), np.array(7, dtype=np.int32)):
        back = from_wire(to_wire(value))
        assert back.shape == () and float(back) == float(value), value
        assert compare(back, float(value), Tolerance()).ok, value


def test_edges_of_depth_base64_and_pickles(monkeypatch):
    import builtins
    import pickle

    def nested(levels, leaf=1):
        value = leaf
        for _ in range(levels):
            value = [value]
        return value

    # a numpy scalar counts as a Python number of its kind: no level of its own
    assert to_wire(nested(16, np.float32(2.0))) == nested(16, 2.0)
    with pytest.raises(WireError, match="^value is nested too deeply$"):
        to_wire(nested(17, np.float32(2.0)))
    assert to_wire(np.datetime64("2026-01-01")) == "2026-01-01"  # other numpy scalars travel as their text
    # an object array starts one level down
    holder = np.empty(1, dtype=object)
    holder[0] = nested(14)
    assert to_wire(holder) == [nested(14)]
    holder[0] = nested(15)
    with pytest.raises(WireError, match="^value is nested too deeply$"):
        to_wire(holder)
    # tuples count like lists on the receiving side
    data: object = 1
    for _ in range(17):
        data = {TUPLE: [data]}
    with pytest.raises(WireError, match="^value is nested too deeply$"):
        from_wire(data)
    # base64 is decoded strictly: a stray character is refused, not skipped
    text = npy(np.arange(3.0))
    with pytest.raises(WireError, match="^malformed array: "):
        from_wire({ARRAY: text[:8] + "!" + text[8:]})
    # the size limit on the text is exact: one character past MAX_ARRAY_BYTES * 4 // 3 + 1024
    monkeypatch.setattr(wire, "MAX_ARRAY_BYTES", 80)
    with pytest.raises(WireError, match="^malformed array: "):   # not refused for its size, but it is no .npy
        from_wire({ARRAY: "A" * (80 * 4 // 3 + 1024)})
    monkeypatch.undo()

    # a pickle is never unpickled, not even to be refused afterwards
    class Payload:
        def __reduce__(self):
            return (exec, ("import builtins; builtins._dl_grader_unpickled = True",))

    for raw in (pickle.dumps(Payload()), pickle.dumps([Payload()])):
        with pytest.raises(WireError):
            from_wire({ARRAY: base64.b64encode(raw).decode()})
    assert not hasattr(builtins, "_dl_grader_unpickled")
