"""The WanGP test double follows CONTRACT.md: the bridge's tests are only worth what it is.

These tests drive the double's `shared.api` in-process, as the bridge does."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.wangp_contract


class Recorder:
    """A callback object noting which thread each callback ran on."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.during_job: dict[str, Any] = {}

    def bind_job(self, session: Any = None, job: Any = None) -> None:
        self.calls.append(("bind_job", threading.current_thread().name, None))

    def on_progress(self, update: Any) -> None:
        self.calls.append(("progress", threading.current_thread().name, update))
        self.during_job.setdefault("cwd", os.getcwd())

    def on_status(self, text: str) -> None:
        self.calls.append(("status", threading.current_thread().name, text))

    def on_stream(self, message: Any) -> None:
        # Runs inside WanGP's print(), so sys.stdout is whatever WanGP swapped in.
        self.calls.append(("stream", threading.current_thread().name, message))
        self.during_job.setdefault("stdout", sys.stdout)

    def on_complete(self, result: Any) -> None:
        self.calls.append(("complete", threading.current_thread().name, result))

    def of(self, kind: str) -> list[tuple[str, str, Any]]:
        return [call for call in self.calls if call[0] == kind]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory, wangp_root: Path) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("double")
    sys.path.insert(0, str(wangp_root))
    from shared.api import init

    yield init(
        root=wangp_root, config_path=folder / "cfg" / "wgp_config.json", output_dir=folder / "out", console_output=False
    )


def task(job_id: str, prompt: str = "a heron", **extra: Any) -> dict[str, Any]:
    params = {
        "model_type": "t2v",
        "prompt": prompt,
        "num_inference_steps": 3,
        "seed": 1,
        "multi_prompts_gen_type": "FG",
        **extra,
    }
    return {"id": job_id, "params": params}


def test_callbacks_run_on_wangp_threads_with_stdout_and_cwd_taken_over(session: Any, wangp_root: Path) -> None:
    recorder = Recorder()
    cwd_before, stdout_before = os.getcwd(), sys.stdout
    result = session.submit_task(task("threads"), callbacks=recorder).result(10)

    assert result.success and len(result.generated_files) == 1
    assert recorder.of("bind_job")[0][1] == threading.current_thread().name
    assert {thread for _, thread, _ in recorder.of("progress")} == {"wangp-session-job"}
    assert {thread for _, thread, _ in recorder.of("status")} == {"wangp-session-job"}
    assert "wangp-session-worker" in {thread for _, thread, _ in recorder.of("stream")}
    assert [u.current_step for _, _, u in recorder.of("progress") if u.phase == "inference"] == [1, 2, 3]
    assert recorder.during_job["cwd"] == str(wangp_root)
    assert recorder.during_job["stdout"] is not stdout_before
    # Like WanGP, the job thread hands out the result while it still holds the chdir; both are
    # given back only when that thread ends.
    for thread in threading.enumerate():
        if thread.name == "wangp-session-job":
            thread.join(10)
    assert (os.getcwd(), sys.stdout) == (cwd_before, stdout_before)


def test_events_end_with_completed_and_hold_previews_until_cleared(session: Any) -> None:
    job = session.submit_task(task("events"))
    job.result(10)
    kinds = [event.kind for event in job.events.iter(timeout=1)]

    assert kinds[0] == "started" and kinds[-1] == "completed"
    assert {"progress", "preview", "stream"} <= set(kinds)
    assert job.events.closed


def test_a_second_submit_while_a_job_runs_raises(session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_WANGP_STEP_S", "0.05")
    job = session.submit_task(task("first", num_inference_steps=10))
    with pytest.raises(RuntimeError, match="already has a generation in progress"):
        session.submit_task(task("second"))
    assert job.result(10).success


def test_cancel_takes_effect_at_the_next_step_and_writes_nothing(session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_WANGP_STEP_S", "0.05")
    recorder = Recorder()
    job = session.submit_task(task("cancel", num_inference_steps=100), callbacks=recorder)
    while not recorder.of("progress"):
        threading.Event().wait(0.01)
    job.cancel()
    result = job.result(5)

    assert result.cancelled and not result.success
    assert result.errors[-1].stage == "cancelled"
    assert result.generated_files == []
    assert len([u for _, _, u in recorder.of("progress") if u.phase == "inference"]) < 10


def test_oom_is_reworded_and_the_raw_text_is_only_in_stream_lines(session: Any) -> None:
    recorder = Recorder()
    result = session.submit_task(task("oom", "[fake:oom] x"), callbacks=recorder).result(10)

    assert not result.success
    assert "unsufficient VRAM" in result.errors[0].message and "CUDA out of memory" not in result.errors[0].message
    assert any("torch.OutOfMemoryError: CUDA out of memory" in m.text for _, _, m in recorder.of("stream"))
    assert session.submit_task(task("after-oom")).result(10).success


@pytest.mark.parametrize(
    ("params", "stage", "message"),
    [
        ({"prompt": ""}, "validation", "Prompt cannot be empty."),
        ({"prompt": "one\n\ntwo", "multi_prompts_gen_type": "PG"}, "validation", "separate generation requests"),
        (
            {"activated_loras": ["nope.safetensors"]},
            "validation",
            "Loras files are missing or invalid: ['nope.safetensors']",
        ),
        ({"model_type": "unknown_type"}, "runtime", "unknown_type"),
        # A start image WanGP cannot tell is an image by its extension (a cached input named by its sha256).
        ({"model_type": "i2v", "image_start": "/cache/3f2a9c"}, "validation", "Start Image should be an Image"),
    ],
)
def test_validation_errors_come_back_in_the_result(session: Any, params: dict, stage: str, message: str) -> None:
    result = session.submit_task({"id": "v", "params": {**task("v")["params"], **params}}).result(10)
    assert not result.success
    assert result.errors[0].stage == stage
    assert message in result.errors[0].message


def test_a_wangp_that_refuses_unknown_setting_names_fails_validation(
    session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_WANGP_REFUSE_UNKNOWN_SETTINGS", "1")
    result = session.submit_task(task("strict", no_such_setting=1)).result(10)
    assert result.errors[0].stage == "validation"
    assert "Unknown setting 'no_such_setting'" in result.errors[0].message


def test_an_attention_mode_that_is_not_installed_succeeds_silently_without_files(session: Any) -> None:
    result = session.submit_task(task("attn", override_attention="xformers")).result(10)
    assert result.success and result.generated_files == []


def test_output_filename_is_honoured_with_a_collision_suffix(session: Any) -> None:
    first = session.submit_task(task("name", output_filename="clip-{seed}")).result(10)
    second = session.submit_task(task("name", output_filename="clip-{seed}")).result(10)
    assert Path(first.generated_files[0]).name == "clip-1.mp4"
    assert Path(second.generated_files[0]).name == "clip-1(2).mp4"


def test_config_path_must_be_named_wgp_config_json(tmp_path: Path, wangp_root: Path) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from shared.api import init\n"
        "try:\n    init(root=sys.argv[1], config_path=sys.argv[2])\nexcept ValueError as e:\n    print(e)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(wangp_root), str(tmp_path / "other.json")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "wgp_config.json" in out.stdout
