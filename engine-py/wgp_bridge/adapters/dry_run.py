"""The dry-run adapter: no WanGP, no GPU. It checks each job's settings, writes `settings.json`
(exactly what the wangp adapter would send to WanGP) into the job's output folder, and reports
progress over a configurable duration — for trying a pipeline and a task list anywhere."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wgp_bridge.adapters.base import JobOutcome, StartInfo, Timings
from wgp_bridge.errors import JobError
from wgp_bridge.job_context import JobContext
from wgp_bridge.job_settings import prepare_settings
from wgp_bridge.protocol import GenerateCommand

SETTINGS_FILE = "settings.json"
DEFAULT_STEPS = 30
_SAFE_MODEL_TYPE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


@dataclass(frozen=True)
class DryRunOptions:
    duration_s: float
    # Optional WanGP checkout: model types are then checked against its defaults/ and finetunes/.
    wangp_root: Path | None = None


class DryRunAdapter:
    name = "dry-run"

    def __init__(self, options: DryRunOptions) -> None:
        self._options = options

    def start(self) -> StartInfo:
        return StartInfo()

    def generate(self, command: GenerateCommand, job: JobContext) -> JobOutcome:
        started = time.monotonic()
        settings = prepare_settings(command)
        model_type = settings["model_type"]
        if self._model_file(model_type) is None and self._options.wangp_root is not None:
            raise JobError("invalid", f"Unknown model_type: {model_type}", {"model_type": model_type})
        steps = settings.get("num_inference_steps") or DEFAULT_STEPS
        pause = self._options.duration_s / steps
        for step in range(1, steps + 1):
            if job.cancelled.wait(pause) if pause > 0 else job.cancelled.is_set():
                raise JobError("cancelled", "Generation was cancelled", {"step": step})
            job.progress("inference", step, steps, round(100 * step / steps), "Dry run")
        path = _write_json(Path(command.output_dir) / SETTINGS_FILE, settings)
        total_s = round(time.monotonic() - started, 3)
        return JobOutcome([str(path)], settings["seed"], model_type, settings, Timings(0.0, total_s, total_s))

    def describe(self, model_type: str) -> dict[str, Any]:
        model_file = self._model_file(model_type)
        if model_file is None and self._options.wangp_root is not None:
            raise JobError("invalid", f"Unknown model_type: {model_type}", {"model_type": model_type})
        definition = json.loads(model_file.read_text(encoding="utf-8")) if model_file else {}
        model = definition.pop("model", {})
        return {
            "model_type": model_type,
            "name": model.get("name"),
            "defaults": {**definition, "model_type": model_type},
            "lora_dir": None,
            "loras": [],
            "loras_supported": True,
            "availability": None,
        }

    def close(self) -> None:
        pass

    def _model_file(self, model_type: str) -> Path | None:
        root = self._options.wangp_root
        if root is None or not _SAFE_MODEL_TYPE.fullmatch(model_type):
            return None
        for folder in ("defaults", "finetunes"):
            candidate = root / folder / f"{model_type}.json"
            if candidate.is_file():
                return candidate
        return None


def _write_json(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)
    return path.resolve()
