"""The WanGP adapter: WanGP loaded once in this process through its public API (`shared.api`),
one job at a time (CONTRACT.md §9)."""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wgp_bridge.adapters.base import JobOutcome, StartInfo, Timings
from wgp_bridge.adapters.wangp_callbacks import JobCallbacks
from wgp_bridge.adapters.wangp_outcome import generated_files_or_raise
from wgp_bridge.bridge_log import note
from wgp_bridge.errors import FatalError, JobError, describe_exception
from wgp_bridge.job_context import JobContext
from wgp_bridge.job_settings import prepare_settings
from wgp_bridge.media_types import main_outputs
from wgp_bridge.outputs import clear_folder_files, move_into
from wgp_bridge.overrides import WanGPOverrides
from wgp_bridge.preflight import run_preflight
from wgp_bridge.postprocess import prepare_edit
from wgp_bridge.protocol import GenerateCommand, PostprocessCommand
from wgp_bridge.system_info import loaded_gpu
from wgp_bridge.wangp_catalog import host_catalog, unknown_settings
from wgp_bridge.wgp_config import CONFIG_NAME, prepare_config

WAIT_SLICE_S = 0.2


@dataclass(frozen=True)
class WanGPAdapterOptions:
    root: Path
    config_dir: Path
    scratch_dir: Path
    overrides: WanGPOverrides
    console_output: bool = True


class WanGPAdapter:
    name = "wangp"

    def __init__(self, options: WanGPAdapterOptions) -> None:
        self._options = options
        self._root = options.root.resolve()
        self._session: Any = None
        self._catalog: dict[str, Any] = {}

    def start(self) -> StartInfo:
        config_path = self._options.config_dir.resolve() / CONFIG_NAME
        preflight = run_preflight(self._root, [config_path] if config_path.is_file() else [])
        if not preflight.ok:
            failures = "; ".join(f"{c.message} (fix: {c.fix})" for c in preflight.failures())
            raise FatalError(f"WanGP pre-flight failed: {failures}", {"preflight": preflight.as_dict()})
        config_path = prepare_config(self._options.config_dir.resolve(), self._root, self._options.overrides.config)
        clear_folder_files(self._options.scratch_dir)
        # Once, so WanGP's own chdir-and-restore calls from any thread all land in the root.
        os.chdir(self._root)
        sys.path.insert(0, str(self._root))
        cli_args = list(self._options.overrides.cli_args)
        try:
            api = importlib.import_module("shared.api")
            _check_loaded_from(api, self._root)
            self._session = api.init(
                root=str(self._root),
                config_path=str(config_path),
                cli_args=cli_args,
                output_dir=str(self._options.scratch_dir.resolve()),
                console_output=self._options.console_output,
            )
        except FatalError:
            raise
        except BaseException as exc:  # init may raise SystemExit (argparse, mmgp version check)
            raise FatalError(
                f"WanGP failed to start: {describe_exception(exc)}", {"exception": type(exc).__name__}
            ) from None
        wgp = sys.modules.get("wgp")
        self._catalog = host_catalog(wgp, self._root)
        return StartInfo(
            wangp_version=getattr(wgp, "WanGP_version", None),
            gpu=loaded_gpu(),
            wangp={
                "root": str(self._root),
                "config_path": str(config_path),
                "cli_args": cli_args,
                "config_keys": self._options.overrides.config,
                "catalog": self._catalog,
                "preflight": preflight.as_dict(),
            },
        )

    def generate(self, command: GenerateCommand, job: JobContext) -> JobOutcome:
        settings = self._known_to_host(prepare_settings(command), job)
        model_type = settings["model_type"]
        model_def = self._session.get_model_def(model_type)
        if model_def is None:
            raise JobError("invalid", f"Unknown model_type: {model_type}", {"model_type": model_type})
        task = {"id": command.id, "params": settings}
        return self._run(
            lambda callbacks: self._session.submit_task(task, callbacks=callbacks),
            job,
            command.output_dir,
            lambda files, timings: JobOutcome(
                files, settings["seed"], model_type, settings, timings, main_outputs=main_outputs(model_def)
            ),
        )

    def postprocess(self, command: PostprocessCommand, job: JobContext) -> JobOutcome:
        """WanGP's own late post-processing call (an edit task): submit_media_postprocessing or submit_audio_remux."""
        request = prepare_edit(command)
        submit = getattr(self._session, f"submit_{request.call}", None)
        if not callable(submit):
            version = self._catalog.get("version")
            raise JobError("invalid", f"WanGP {version} has no submit_{request.call}", {"call": request.call})
        return self._run(
            lambda callbacks: submit(request.source, callbacks=callbacks, **request.kwargs),
            job,
            command.output_dir,
            lambda files, timings: JobOutcome(
                files, request.kwargs["seed"], request.mode, request.settings, timings, main_outputs=("video", "image")
            ),
        )

    def _run(
        self,
        submit: Callable[[JobCallbacks], Any],
        job: JobContext,
        output_dir: str,
        outcome: Callable[[list[str], Timings], JobOutcome],
    ) -> JobOutcome:
        """Submits one WanGP job, waits for it, and moves its files into the job's folder."""
        seen = JobCallbacks(job)
        started = time.monotonic()
        wangp_job = self._submit(submit, seen)
        job.on_cancel(wangp_job.cancel)
        result = _wait_dropping_events(wangp_job)
        total_s = time.monotonic() - started
        try:
            files = generated_files_or_raise(result, seen, job.cancelled.is_set())
        except JobError as failure:
            if failure.detail and failure.detail.get("files"):
                failure.detail["files"] = move_into(failure.detail["files"], output_dir)
            raise
        finally:
            self._forget_gallery()
        moved = move_into(files, output_dir)
        if not moved:
            raise JobError("engine", "WanGP listed output files that do not exist", {"files": files})
        load_s = seen.model_load_s
        return outcome(moved, Timings(round(load_s, 3), round(total_s - load_s, 3), round(total_s, 3)))

    def _known_to_host(self, settings: dict[str, Any], job: JobContext) -> dict[str, Any]:
        """Drops the settings this host's WanGP does not name: older lines ignore them, later ones
        refuse the whole task ("Unknown setting…")."""
        unknown = unknown_settings(settings, self._catalog["setting_names"])
        if unknown:
            job.log("bridge", f"not sent, unknown to WanGP {self._catalog['version']}: {', '.join(unknown)}")
        return {key: value for key, value in settings.items() if key not in unknown}

    @staticmethod
    def _submit(submit: Callable[[JobCallbacks], Any], callbacks: JobCallbacks) -> Any:
        try:
            return submit(callbacks)
        except RuntimeError as exc:
            raise JobError("busy" if "in progress" in str(exc) else "engine", str(exc)) from None
        except (TypeError, ValueError) as exc:
            raise JobError("invalid", str(exc)) from None

    def describe(self, model_type: str) -> dict[str, Any]:
        session = self._session
        model_def = session.get_model_def(model_type)
        if model_def is None:
            raise JobError("invalid", f"Unknown model_type: {model_type}", {"model_type": model_type})
        loras = _optional(session, "list_loras", model_type) or {}
        return {
            "model_type": model_type,
            "wangp_version": self._catalog.get("version"),
            "name": model_def.get("name"),
            "defaults": session.get_default_settings(model_type),
            "lora_dir": self._lora_dir(model_type),
            "loras": loras.get("loras", []),
            "loras_supported": loras.get("supported", True),
            "availability": _optional(session, "get_model_availability", model_type),
        }

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def _lora_dir(self, model_type: str) -> str | None:
        """shared.api has no LoRA-folder getter; wgp.get_lora_dir is the read-only helper WanGP uses."""
        get_lora_dir = getattr(sys.modules.get("wgp"), "get_lora_dir", None)
        if get_lora_dir is None:
            return None
        try:
            return str((self._root / str(get_lora_dir(model_type))).resolve())
        except Exception as exc:
            note(f"get_lora_dir({model_type!r}) failed: {exc!r}")
            return None

    def _forget_gallery(self) -> None:
        """WanGP's headless session appends every output (path and settings) to gallery lists it
        never trims (CONTRACT.md §5). The bridge moves the files away, so it empties those lists
        after each job to keep memory flat. Private state: skipped if WanGP changes its shape."""
        state = getattr(self._session, "_state", None)
        gen = state.get("gen") if isinstance(state, dict) else None
        if not isinstance(gen, dict):
            return
        for key in ("file_list", "file_settings_list", "audio_file_list", "audio_file_settings_list"):
            if isinstance(gen.get(key), list):
                gen[key].clear()


def _wait_dropping_events(wangp_job: Any) -> Any:
    """Waits for the result, emptying the job's event queue meanwhile: the callbacks already
    forwarded everything, and the queue would otherwise keep every preview image."""
    while True:
        try:
            result = wangp_job.result(timeout=WAIT_SLICE_S)
            break
        except TimeoutError:
            wangp_job.events.clear()
    wangp_job.release_output_payload()
    return result


def _check_loaded_from(api: Any, root: Path) -> None:
    location = Path(getattr(api, "__file__", "")).resolve()
    if not location.is_relative_to(root):
        raise FatalError(
            f"'shared.api' was imported from {location}, not from WanGP at {root}: another 'shared' package "
            "shadows WanGP's (check PYTHONPATH and the current folder)"
        )


def _optional(session: Any, method: str, model_type: str) -> Any:
    """Calls a metadata method that older WanGP versions lack."""
    function = getattr(session, method, None)
    return function(model_type) if callable(function) else None
