"""Runs the real bridge (`python -m wgp_bridge`) as a child process and talks JSON lines to it."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ENGINE_PY = Path(__file__).resolve().parents[1]
REPO_ROOT = ENGINE_PY.parent
FAKE_WANGP = REPO_ROOT / "test" / "fixtures" / "fake-wangp"
TERMINAL_TYPES = ("result", "error")


class BridgeProcess:
    def __init__(self, args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        full_env = {**os.environ, "PYTHONPATH": str(ENGINE_PY), "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wgp_bridge", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=cwd,
        )
        self.not_json: list[bytes] = []
        self.stderr_lines: list[str] = []
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        for line in self.process.stdout:
            try:
                self._messages.put(json.loads(line))
            except ValueError:
                self.not_json.append(line)
        self._messages.put(None)

    def _read_stderr(self) -> None:
        for line in self.process.stderr:
            self.stderr_lines.append(line.decode("utf-8", "replace"))

    def send(self, message: dict[str, Any] | bytes) -> None:
        data = message if isinstance(message, bytes) else json.dumps(message).encode()
        self.process.stdin.write(data + b"\n")
        self.process.stdin.flush()

    def next_message(self, timeout: float = 10.0) -> dict[str, Any]:
        message = self._messages.get(timeout=timeout)
        if message is None:
            raise EOFError(
                f"bridge closed its channel (exit {self.process.wait(5)}); stderr:\n{''.join(self.stderr_lines[-30:])}"
            )
        return message

    def wait_for(self, message_type: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            message = self.next_message(max(0.01, deadline - time.monotonic()))
            if message["type"] == message_type:
                return message

    def job_messages(self, job_id: str, timeout: float = 20.0) -> list[dict[str, Any]]:
        """All messages of one job up to and including its terminal message."""
        deadline = time.monotonic() + timeout
        collected = []
        while True:
            message = self.next_message(max(0.01, deadline - time.monotonic()))
            if message.get("id") != job_id:
                continue
            collected.append(message)
            if message["type"] in TERMINAL_TYPES:
                return collected

    def generate(self, job_id: str, settings: dict[str, Any], output_dir: Path, output_name: str = "output") -> None:
        self.send(
            {
                "type": "generate",
                "id": job_id,
                "settings": settings,
                "output_dir": str(output_dir),
                "output_name": output_name,
            }
        )

    def run_job(self, job_id: str, settings: dict[str, Any], output_dir: Path, **kwargs: Any) -> list[dict[str, Any]]:
        self.generate(job_id, settings, output_dir, **kwargs)
        return self.job_messages(job_id)

    def close(self) -> int:
        if self.process.poll() is None:
            try:
                self.send({"type": "shutdown"})
            except (BrokenPipeError, OSError):
                pass
        try:
            return self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)


def read_record(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def t2v_settings(prompt: str = "a red fox in the snow", **extra: Any) -> dict[str, Any]:
    return {"model_type": "t2v", "prompt": prompt, "num_inference_steps": 4, **extra}
