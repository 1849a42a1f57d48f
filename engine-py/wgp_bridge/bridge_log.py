"""The bridge's own diagnostics, written straight to fd 2.

Never through sys.stdout/sys.stderr: WanGP swaps those process-wide during a job, and a line
written from inside a stream callback would be captured and fed back to that callback.
"""

from __future__ import annotations

import os


def note(message: str) -> None:
    try:
        os.write(2, f"[wgp-bridge] {message}\n".encode("utf-8", "replace"))
    except OSError:
        pass
