"""The bridge ends with its parent (the worker).

A bridge that outlived a SIGKILLed worker would finish its job and move the files into the job's
staging folder, re-creating it after the worker's next attempt had cleaned it. Linux has
PR_SET_PDEATHSIG for this, but not in the standard library; a dead parent shows instead as a new
parent process id (the process is re-parented to init or a subreaper).
"""

from __future__ import annotations

import os
import threading
import time

from wgp_bridge.bridge_log import note
from wgp_bridge.channel import EXIT_CHANNEL_BROKEN

PARENT_CHECK_INTERVAL_S = 0.2


def exit_parent_gone(why: str) -> None:
    """Exits at once: whatever runs is abandoned, and nothing more is written anywhere."""
    note(f"{why}: the parent is gone; exiting without finishing the running job")
    os._exit(EXIT_CHANNEL_BROKEN)


def watch_parent(interval_s: float = PARENT_CHECK_INTERVAL_S) -> None:
    """Starts a daemon thread that exits the process once its parent has died."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval_s)
            if os.getppid() != parent:
                exit_parent_gone(f"parent process {parent} died")

    threading.Thread(target=watch, name="bridge-parent-watch", daemon=True).start()
