"""Which output is a job's main file, by the model's main output kind."""

from __future__ import annotations

from wgp_bridge.media_types import main_outputs, media_type_of, pick_main_file


def test_media_types_come_from_the_extension() -> None:
    assert [media_type_of(p) for p in ("/o/a.mp4", "/o/b.JPG", "/o/c.wav", "/o/d.json")] == [
        "video",
        "image",
        "audio",
        "other",
    ]


def test_main_outputs_follow_wangps_metadata_then_the_definition_flags() -> None:
    assert main_outputs({"metadata": {"main_output": ["image", "video"]}}) == ("image", "video")
    assert main_outputs({"audio_only": True}) == ("audio",)
    assert main_outputs({"image_outputs": True}) == ("image",)
    assert main_outputs({}) == ("video",)
    assert main_outputs(None) == ()


def test_the_main_file_is_the_last_of_the_main_kind_else_the_last() -> None:
    files = ["/o/clip.mp4", "/o/clip.wav"]
    assert pick_main_file(files, ("video",)) == "/o/clip.mp4"
    assert pick_main_file(files, ("audio",)) == "/o/clip.wav"
    assert pick_main_file(["/o/w1.mp4", "/o/full.mp4"], ("video",)) == "/o/full.mp4"
    assert pick_main_file(["/o/settings.json"], ()) == "/o/settings.json"
