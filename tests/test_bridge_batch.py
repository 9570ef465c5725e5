"""The kernel side of a function check's batch (``grader_worker.bridge._call_many``), run in this process:
each case under its own time limit, one student's error confined to its case, and a case that runs out of
time, or an interrupt from the grader, stopping the rest (they come back "NotRun", to be asked again)."""

from __future__ import annotations

import time
import types

import pytest

from grader_worker import bridge, wire


@pytest.fixture
def student(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType("student")

    def square(x):
        if x == "interrupt":
            raise KeyboardInterrupt
        if x == "hang":
            while True:
                time.sleep(0.01)
        return x * x

    class Net:
        def __init__(self, scale=1.0):
            self.params = {"w": 0.0}
            self.scale = scale

        def forward(self, x):
            return self.scale * (self.params["w"] * x)

    module.square, module.Net = square, Net
    monkeypatch.setattr(bridge, "_modules", [module])
    return module


def _batch(name: str, cases: list[dict], each: float = 0.5) -> list[dict]:
    reply = bridge._call_many({"each": each, "cases": [{"name": name, **case} for case in cases]})
    assert reply["ok"]
    return reply["many"]


def _case(*args, **fresh) -> dict:
    case = {"args": [wire.to_wire(a) for a in args], "kwargs": {}}
    if fresh:
        case["fresh"] = fresh
    return case


def _values(replies: list[dict]) -> list:
    return [wire.from_wire(r["value"]) if r["ok"] else r["error"]["type"] for r in replies]


def test_every_case_is_answered_in_order_and_an_error_stays_with_its_case(student) -> None:
    assert _values(_batch("square", [_case(3), _case(None), _case(-2)])) == [9, "TypeError", 4]


def test_one_batch_calls_several_functions_and_a_survey_says_what_exists(student) -> None:
    cases = [{"name": "square", **_case(3)}, {"name": "forward", **_case(2, name="Net", args=[], kwargs={"scale": 3.0},
                                                                           update={"params": {"w": 5.0}})},
             {"name": "absent", **_case(1)}, {"name": "square", **_case(4)}]
    reply = bridge._call_many({"each": 0.5, "cases": cases})
    assert _values(reply["many"][:2] + reply["many"][3:]) == [9, 30.0, 16] and reply["many"][2] == {"ok": False, "missing": True}
    survey = bridge._survey({"names": ["square", "nothing"], "callables": ["square", "Net", "nothing"]})
    assert survey["has"] == {"square": True, "Net": True, "nothing": False}
    assert survey["many"]["nothing"] == {"ok": False, "missing": True} and survey["many"]["square"]["ok"] is False  # (a function is no value)


def test_a_case_past_its_limit_stops_the_batch_and_the_rest_are_not_run(student) -> None:
    started = time.monotonic()
    replies = _batch("square", [_case(2), _case("hang"), _case(5), _case(6)], each=0.3)
    assert _values(replies) == [4, "Timeout", "NotRun", "NotRun"]
    assert time.monotonic() - started < 2  # (the cases after the hang were not run, each for its limit)


def test_the_graders_interrupt_stops_the_batch_rather_than_one_case(student) -> None:
    assert _values(_batch("square", [_case("interrupt"), _case(5)])) == ["KeyboardInterrupt", "NotRun"]


def test_a_fresh_object_is_made_updated_and_asked_for_each_case(student) -> None:
    replies = _batch("forward", [
        _case(3.0, name="Net", args=[], kwargs={"scale": wire.to_wire(2.0)}, update={"params": wire.to_wire({"w": 0.5})}),
        _case(3.0, name="Net", args=[], kwargs={}, update={}),  # (a new object: the first one's weights are not kept)
    ])
    assert _values(replies) == [3.0, 0.0]


def test_a_missing_class_or_method_or_attribute_is_said_so(student) -> None:
    missing, no_method, no_attr = _batch("backward", [
        _case(1.0, name="NoSuchNet", args=[], kwargs={}, update={}),
        _case(1.0, name="Net", args=[], kwargs={}, update={}),
        _case(1.0, name="Net", args=[], kwargs={}, update={"weights": wire.to_wire({})}),
    ])
    assert missing == {"ok": False, "missing": True}
    assert no_method["error"]["message"] == "Net object has no method 'backward'"
    assert no_attr["error"]["message"] == "Net object has no attribute 'weights' to set"
