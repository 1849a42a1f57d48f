"""The protocol channel stays intact while WanGP floods stdout from threads, raw fd writes and
a child process, and the `log` lines of a job stay bounded."""

from __future__ import annotations

import re
import time
from pathlib import Path

from bridge_process import BridgeProcess, t2v_settings

FLOOD_LINES = 3000


def test_a_stdout_flood_during_a_job_neither_corrupts_nor_swamps_the_channel(start_bridge, tmp_path: Path) -> None:
    bridge: BridgeProcess = start_bridge(
        "--log-lines-per-s", "50", "--log-burst", "100", env={"FAKE_WANGP_FLOOD_LINES": str(FLOOD_LINES)}
    )
    bridge.wait_for("ready")
    started = time.monotonic()
    messages = bridge.run_job("flood", t2v_settings("[fake:flood] x"), tmp_path / "flood")
    elapsed = time.monotonic() - started

    assert messages[-1]["type"] == "result"
    assert bridge.not_json == []
    logs = [m for m in messages if m["type"] == "log"]
    notes = [m for m in logs if m["stream"] == "bridge"]
    forwarded = [m for m in logs if m["stream"] != "bridge"]
    assert len(forwarded) <= 100 + 50 * elapsed + 1
    assert notes and all(re.fullmatch(r"\d+ lines? dropped \(log rate limit\)", m["line"]) for m in notes)
    dropped = sum(int(m["line"].split()[0]) for m in notes)
    # Three threads print FLOOD_LINES each through WanGP's capture (which, like WanGP's, may merge
    # lines printed concurrently): nearly all of them were dropped, and counted.
    assert dropped > FLOOD_LINES

    bridge.send({"type": "ping", "id": "after-flood"})
    assert bridge.wait_for("pong")["id"] == "after-flood"
    stderr = "".join(bridge.stderr_lines)
    assert "flood fd1 line" in stderr and "flood child line" in stderr  # fd 1 now leads to stderr


def test_long_log_lines_are_cut(start_bridge, tmp_path: Path) -> None:
    bridge = start_bridge("--log-line-max-chars", "40")
    bridge.wait_for("ready")
    messages = bridge.run_job(
        "long-lines", t2v_settings("a prompt long enough to make the saved path line long"), tmp_path / "ll"
    )
    lines = [m["line"] for m in messages if m["type"] == "log"]
    assert lines and all(len(line) <= 40 + len(" … [9999 characters cut]") for line in lines)
    assert any("characters cut" in line for line in lines)
