"""The protocol channel: a private duplicate of the original stdout, immune to WanGP's output.

WanGP swaps sys.stdout during jobs, C code and child processes write to fd 1 directly, so the
channel takes fd 1 for itself (`os.dup`) and points fd 1 at stderr: whatever anything else
prints lands in stderr, never between two protocol lines.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any, TextIO

from wgp_bridge.bridge_log import note

EXIT_CHANNEL_BROKEN = 5


class ProtocolChannel:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    @classmethod
    def take_over_stdout(cls) -> ProtocolChannel:
        sys.stdout.flush()
        proto = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
        os.dup2(2, 1)
        return cls(proto)

    def send(self, message_type: str, **fields: Any) -> None:
        line = encode_message({"type": message_type, **fields})
        with self._lock:
            try:
                self._stream.write(line + "\n")
            except (BrokenPipeError, OSError, ValueError) as exc:
                note(f"protocol channel broken ({exc}); exiting")
                os._exit(EXIT_CHANNEL_BROKEN)

    def close(self) -> None:
        with self._lock:
            try:
                self._stream.close()
            except OSError:
                pass


def encode_message(message: dict[str, Any]) -> str:
    """One JSON line. NaN/Infinity are not JSON for the Node side, so they become null."""
    try:
        return json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str)
    except ValueError:
        loose = json.dumps(message, separators=(",", ":"), ensure_ascii=False, default=str)
        return json.dumps(json.loads(loose, parse_constant=lambda _: None), separators=(",", ":"), ensure_ascii=False)
