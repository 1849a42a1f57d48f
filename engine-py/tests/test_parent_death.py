"""The bridge ends with its worker: a SIGKILLed worker must not leave an engine behind that goes on
with its job and writes into the job's staging folder after the worker's next attempt cleaned it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bridge_process import ENGINE_PY, FAKE_WANGP, t2v_settings

# A stand-in for the worker: starts the bridge on two pipes, starts a long job, prints the pids once
# the job makes progress, then waits to be killed. Another process (a `sleep`) keeps the read end of
# the bridge's stdout open, as if the engine were in a long phase that sends nothing (a VAE decode):
# its messages do not fail. With "held", it keeps the write end of the bridge's stdin open too, so
# that no end of input comes either.
WORKER = r"""
import json, os, subprocess, sys
mode, wangp_root, config_dir, output_dir, settings = sys.argv[1:6]
in_read, in_write = os.pipe()
out_read, out_write = os.pipe()
bridge = subprocess.Popen(
    [sys.executable, "-m", "wgp_bridge", "--adapter", "wangp", "--wangp-root", wangp_root, "--config-dir", config_dir],
    stdin=in_read, stdout=out_write,
)
os.close(in_read)
os.close(out_write)
holder = subprocess.Popen(["sleep", "120"], pass_fds=(out_read, in_write) if mode == "held" else (out_read,))
messages = os.fdopen(out_read, "rb")
command = {"type": "generate", "id": "doomed", "settings": json.loads(settings), "output_dir": output_dir, "output_name": "out"}
messages.readline()
os.write(in_write, (json.dumps(command) + "\n").encode())
for line in messages:
    if json.loads(line)["type"] == "progress":
        break
print(bridge.pid, holder.pid, flush=True)
os.read(0, 1)
"""


def gone(pid: int) -> bool:
    """Whether the process has exited (a zombie nobody reaped yet counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z"


def wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.05)
    return gone(pid)


# "eof": the job hangs where a cancel does not reach it; before, end of input waited out the
# shutdown grace (10 s) for it. "held": the job runs on and, before, moved its video into the
# staging folder when it ended (2 s later), re-creating the folder the next attempt had cleaned.
SCENARIOS = {
    "eof": {"FAKE_WANGP_STEP_S": "0.05", "FAKE_WANGP_FAULT": "hang", "FAKE_WANGP_FAULT_STEP": "1"},
    "held": {"FAKE_WANGP_STEP_S": "0.1"},
}


@pytest.mark.parametrize("mode", sorted(SCENARIOS))
def test_a_sigkilled_worker_takes_its_engine_along_and_the_staging_stays_untouched(
    tmp_path: Path, record_file: Path, mode: str
) -> None:
    staging = tmp_path / "out" / ".staging" / "doomed"
    settings = json.dumps(t2v_settings(num_inference_steps=20))
    env = {
        **os.environ,
        "PYTHONPATH": str(ENGINE_PY),
        "PYTHONDONTWRITEBYTECODE": "1",
        "FAKE_WANGP_RECORD": str(record_file),
        **SCENARIOS[mode],
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, mode, str(FAKE_WANGP), str(tmp_path / "gpu0"), str(staging), settings],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    holder = 0
    try:
        bridge, holder = (int(field) for field in worker.stdout.readline().split())
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        # The next attempt cleans the staging folder of the dead one (the job has written nothing there yet).
        assert not staging.exists()
        assert wait_gone(bridge, 5), f"the engine {bridge} outlived its worker"
        # Gone before its job ended: nothing comes back into the staging folder.
        assert not staging.parent.exists()
    finally:
        if worker.poll() is None:
            worker.kill()
        if holder:
            os.kill(holder, signal.SIGKILL)
