from __future__ import annotations

import pytest
from wgp_bridge.errors import JobError
from wgp_bridge.job_settings import prepare_settings
from wgp_bridge.protocol import GenerateCommand
from wgp_bridge.settings_shape import settings_problems


def command(settings: dict) -> GenerateCommand:
    return GenerateCommand("job", settings, "/staging", "out")


def test_prepared_settings_pin_what_the_bridge_owns_and_keep_the_rest() -> None:
    original = {
        "model_type": "vace_14B",
        "prompt": "p",
        "seed": 5,
        "multi_prompts_gen_type": "PG",
        "prompt_enhancer": "TI",
        "guidance_scale": 1,
    }
    prepared = prepare_settings(command(original))
    assert prepared == {**original, "multi_prompts_gen_type": "FG", "prompt_enhancer": "", "output_filename": "out"}
    assert original["multi_prompts_gen_type"] == "PG"  # the caller's dict is not changed


@pytest.mark.parametrize("seed", [None, -1, -5])
def test_a_random_seed_is_picked_by_the_bridge(seed: int | None) -> None:
    prepared = prepare_settings(command({"model_type": "t2v", "prompt": "p", "seed": seed}))
    assert isinstance(prepared["seed"], int) and 0 <= prepared["seed"] <= 999_999_999


def test_malformed_settings_raise_invalid_with_every_problem() -> None:
    with pytest.raises(JobError) as refused:
        prepare_settings(command({"model_type": "", "prompt": 3, "seed": 1.5, "_api": {}}))
    assert refused.value.kind == "invalid"
    assert len(refused.value.detail["problems"]) == 4


def test_media_must_be_absolute_local_paths() -> None:
    base = {"model_type": "vace_14B", "prompt": "p"}
    assert settings_problems({**base, "video_guide": "/data/guide.mp4", "image_refs": ["/a.png", "/b.png"]}) == []
    assert settings_problems({**base, "video_mask": "/data/mask.mp4|start_frame=1"}) == []
    assert len(settings_problems({**base, "video_guide": "https://x/y.mp4", "image_refs": ["rel.png", 3]})) == 3


def test_video_length_may_be_frames_or_seconds() -> None:
    base = {"model_type": "t2v", "prompt": "p"}
    assert settings_problems({**base, "video_length": 81}) == settings_problems({**base, "video_length": "5s"}) == []
    assert settings_problems({**base, "video_length": "five"}) != []
