"""The grader's side of the bridge's messages (``grader.runner.messages``), without a kernel: what it
reads from the folder a student's code may write to, and how it checks what comes back."""

from __future__ import annotations

import json
import os

from grader.runner import messages
from grader.runner.messages import read_checkpoint


def test_a_checkpoint_is_read_only_as_a_plain_small_file_never_through_a_link(tmp_path, monkeypatch):
    secret = tmp_path / "grader-only.json"
    secret.write_text(json.dumps({"many": [{"ok": True, "value": "the grader's own file"}]}))
    good = tmp_path / "checkpoint-good.json"
    good.write_text(json.dumps({"many": [{"ok": True, "value": 3}]}))
    assert read_checkpoint(good) == {"many": [{"ok": True, "value": 3}]}
    link = tmp_path / "checkpoint-link.json"
    link.symlink_to(secret)  # what the student's code could put at the path it was told
    assert read_checkpoint(link) is None
    fifo = tmp_path / "checkpoint-fifo.json"
    os.mkfifo(fifo)  # opening it for reading would block the grader
    assert read_checkpoint(fifo) is None
    folder = tmp_path / "checkpoint-folder.json"
    folder.mkdir()
    assert read_checkpoint(folder) is None
    assert read_checkpoint(tmp_path / "checkpoint-none.json") is None
    garbled = tmp_path / "checkpoint-garbled.json"
    garbled.write_bytes(b'{"many": [\xff')
    assert read_checkpoint(garbled) is None
    deep = tmp_path / "checkpoint-deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert read_checkpoint(deep) is None
    monkeypatch.setattr(messages.wire, "MAX_REPLY_BYTES", 64)
    big = tmp_path / "checkpoint-big.json"
    big.write_text(json.dumps({"many": [{"ok": True, "value": "x" * 100}]}))
    assert read_checkpoint(big) is None and read_checkpoint(good) is not None


def test_a_reply_is_checked_field_by_field():
    assert messages.outcome("not a dict").error["type"] == "BadReply"
    assert messages.outcome({"ok": False}).error["type"] == "BadReply"
    assert messages.outcome({"missing": True}).missing
    assert messages.outcome({"ok": True, "handle": 3, "cpu": -1.0}).handle == 3 and messages.outcome({"ok": True, "handle": 3, "cpu": -1.0}).cpu is None
    long = messages.outcome({"ok": False, "error": {"type": "T" * 500, "message": "m" * 5000, "where": "not a dict"}})
    assert len(long.error["type"]) == 100 and len(long.error["message"]) == 2000 and long.error["where"] is None
