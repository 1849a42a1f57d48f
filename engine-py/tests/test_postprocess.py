"""Late post-processing (`postprocess`): values checked against what WanGP accepts, WanGP's own edit
calls on the test double (what was asked is recorded in the output), the dry-run engine, and real
videos with WGP_FARM_FAKE_MEDIA=ffmpeg checked with ffprobe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bridge_process import read_record, t2v_settings

from wgp_bridge.errors import JobError
from wgp_bridge.fake_media import probe_video, write_test_video
from wgp_bridge.postprocess import prepare_edit, spatial_factor
from wgp_bridge.protocol import PostprocessCommand

REAL_MEDIA = {"WGP_FARM_FAKE_MEDIA": "ffmpeg"}


def command(source: Path, call: str = "media_postprocessing", **params) -> PostprocessCommand:
    return PostprocessCommand("p1", call, str(source), "/tmp/out", params)


def problems_of(source: Path, call: str = "media_postprocessing", **params) -> list[str]:
    with pytest.raises(JobError) as raised:
        prepare_edit(command(source, call, **params))
    assert raised.value.kind == "invalid"
    return raised.value.detail["problems"]


def postprocess(bridge, job_id: str, call: str, source: Path, output_dir: Path, **params) -> list[dict]:
    bridge.send(
        {"type": "postprocess", "id": job_id, "call": call, "source": str(source), "output_dir": str(output_dir), "params": params}
    )
    return bridge.job_messages(job_id, timeout=60)


@pytest.fixture
def video(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "take.mp4"
    path.parent.mkdir()
    path.write_bytes(b"FAKE-WANGP-OUTPUT (test fixture, not a video)\n")
    return path


def test_spatial_values_are_a_registered_method_and_one_of_its_multipliers() -> None:
    assert [spatial_factor(v) for v in ("lanczos1.5", "lanczos2", "flashvsr4", "flashvsr2pass2", "coz16", "ltx23")] == [
        1.5, 2.0, 4.0, 2.0, 16.0, 2.0,
    ]
    assert [spatial_factor(v) for v in ("lanczos5", "bicubic2", "lanczosx", "flux_pid2")] == [None] * 4


def test_every_bad_value_is_named_at_once(video: Path) -> None:
    problems = problems_of(
        video, spatial_upsampling="lanczos5", temporal_upsampling="rife3", film_grain_intensity=2, colour="red"
    )
    assert len(problems) == 4
    assert "unknown parameter 'colour' for media_postprocessing" in problems
    assert any("spatial_upsampling 'lanczos5' is not one of WanGP's late upsamplers" in p for p in problems)
    assert any("temporal_upsampling must be one of rife2, rife4" in p for p in problems)
    assert any("film_grain_intensity must be a number from 0 to 1" in p for p in problems)


def test_media_rules_follow_wangp(video: Path, tmp_path: Path) -> None:
    assert problems_of(video) == [
        "choose at least one post-processing: spatial_upsampling, temporal_upsampling or film grain"
    ]
    assert problems_of(video, spatial_upsampling="coz4") == ["spatial_upsampling 'coz4' does not take videos"]
    image = tmp_path / "still.png"
    image.write_bytes(b"x")
    assert problems_of(image, temporal_upsampling="rife2") == ["temporal_upsampling is video-only"]
    assert problems_of(tmp_path / "gone.mp4", film_grain_intensity=0.1) == [f"source {tmp_path / 'gone.mp4'} does not exist"]


def test_soundtrack_rules(video: Path, tmp_path: Path) -> None:
    assert problems_of(video, "audio_remux", postprocess_audio="seedvc_one_speaker") == [
        "postprocess_audio 'seedvc_one_speaker' replaces voices; a soundtrack is one of custom, mmaudio, prismaudio"
    ]
    assert problems_of(video, "audio_remux", postprocess_audio="custom") == [
        "postprocess_audio 'custom' needs audio_source (the soundtrack file)"
    ]
    request = prepare_edit(command(video, "audio_remux", postprocess_audio="mmaudio", postprocess_audio_prompt="rain"))
    assert request.mode == "edit_remux" and 0 <= request.kwargs["seed"] <= 999_999_999
    assert request.settings["video_source"] == str(video)


def test_a_bad_call_is_answered_as_the_jobs_invalid_error(ready_bridge, video: Path, tmp_path: Path) -> None:
    ready_bridge.send({"type": "postprocess", "id": "bad", "call": "colorize", "source": str(video), "output_dir": str(tmp_path)})
    error = ready_bridge.job_messages("bad")[-1]
    assert (error["type"], error["kind"]) == ("error", "invalid")
    assert "'call' must be one of media_postprocessing, audio_remux" in error["message"]
    error = postprocess(ready_bridge, "bad2", "media_postprocessing", video, tmp_path / "o", spatial_upsampling="lanczos9")
    assert (error[-1]["type"], error[-1]["kind"]) == ("error", "invalid")
    assert error[-1]["detail"]["problems"][0].startswith("spatial_upsampling 'lanczos9'")


@pytest.mark.wangp_contract
def test_media_postprocessing_runs_wangps_edit_task_and_records_what_was_asked(
    ready_bridge, video: Path, tmp_path: Path, record_file: Path
) -> None:
    messages = postprocess(
        ready_bridge, "up", "media_postprocessing", video, tmp_path / "up",
        spatial_upsampling="lanczos1.5", film_grain_intensity=0.1, seed=5,
    )
    result = messages[-1]
    assert result["type"] == "result", result
    assert result["main_file"] == str(tmp_path / "up" / "take_post.mp4")
    assert (result["model_type"], result["seed"], result["media_type"]) == ("edit_postprocessing", 5, "video")
    assert result["settings"]["spatial_upsampling"] == "lanczos1.5"
    asked = json.loads(Path(result["main_file"]).read_text().splitlines()[1])
    assert asked["mode"] == "edit_postprocessing"
    assert (asked["spatial_upsampling"], asked["film_grain_intensity"], asked["video_source"]) == ("lanczos1.5", 0.1, str(video))
    assert {m["phase"] for m in messages if m["type"] == "progress"} == {"post_processing"}
    submitted = [r for r in read_record(record_file) if r["event"] == "validate"]
    assert submitted[-1]["params"]["mode"] == "edit_postprocessing"
    assert "model_type" not in submitted[-1]["params"]


@pytest.mark.wangp_contract
def test_audio_remux_lays_a_soundtrack(ready_bridge, video: Path, tmp_path: Path) -> None:
    soundtrack = tmp_path / "music.wav"
    soundtrack.write_bytes(b"RIFF")
    result = postprocess(
        ready_bridge, "snd", "audio_remux", video, tmp_path / "snd", postprocess_audio="custom", audio_source=str(soundtrack)
    )[-1]
    assert result["type"] == "result", result
    asked = json.loads(Path(result["main_file"]).read_text().splitlines()[1])
    assert (asked["mode"], asked["postprocess_audio"], asked["audio_source"]) == ("edit_remux", "custom", str(soundtrack))


def test_real_videos_from_the_double_and_its_post_processing(start_bridge, tmp_path: Path) -> None:
    bridge = start_bridge(env=REAL_MEDIA)
    bridge.wait_for("ready")
    generated = bridge.run_job("gen", t2v_settings(resolution="64x48", video_length=9), tmp_path / "gen")[-1]
    assert generated["type"] == "result", generated
    source = Path(generated["main_file"])
    shape = probe_video(source)
    assert (shape.width, shape.height, shape.frames) == (64, 48, 9)

    up = postprocess(bridge, "up", "media_postprocessing", source, tmp_path / "up", spatial_upsampling="lanczos2")[-1]
    assert (probe_video(Path(up["main_file"])).width, probe_video(Path(up["main_file"])).height) == (128, 96)
    rife = postprocess(bridge, "rife", "media_postprocessing", source, tmp_path / "rife", temporal_upsampling="rife2")[-1]
    assert probe_video(Path(rife["main_file"])).frames == 18
    sound = postprocess(bridge, "snd", "audio_remux", source, tmp_path / "snd", postprocess_audio="mmaudio")[-1]
    assert probe_video(Path(sound["main_file"])).frames == 9


def test_dry_run_writes_what_it_would_ask_and_real_video_on_request(start_bridge, tmp_path: Path) -> None:
    source = write_test_video(tmp_path / "seg.mp4", 32, 32, 5)
    bridge = start_bridge(adapter_args=["--adapter", "dry-run", "--dry-run-duration", "0"], env=REAL_MEDIA)
    bridge.wait_for("ready")
    generated = bridge.run_job("g", t2v_settings(resolution="48x32", video_length=7), tmp_path / "g", output_name="g")[-1]
    assert Path(generated["main_file"]).name == "g.mp4" and probe_video(Path(generated["main_file"])).frames == 7
    result = postprocess(bridge, "d", "media_postprocessing", source, tmp_path / "d", temporal_upsampling="rife4")[-1]
    assert result["type"] == "result", result
    assert json.loads((tmp_path / "d" / "settings.json").read_text())["temporal_upsampling"] == "rife4"
    assert probe_video(Path(result["main_file"])).frames == 20
