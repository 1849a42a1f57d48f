"""The exact settings dict sent to WanGP for one job, built the same way by every adapter.

On top of the caller's settings the bridge pins: an explicit seed (WanGP's random -1 is only
reported in a file name), one generation per prompt (`multi_prompts_gen_type: "FG"`), no prompt
enhancer, and the output file name."""

from __future__ import annotations

import copy
import random
from typing import Any

from wgp_bridge.errors import JobError
from wgp_bridge.protocol import GenerateCommand
from wgp_bridge.settings_shape import settings_problems

MAX_SEED = 999_999_999
_seed_source = random.SystemRandom()


def prepare_settings(command: GenerateCommand) -> dict[str, Any]:
    problems = settings_problems(command.settings)
    if problems:
        raise JobError("invalid", "invalid settings: " + "; ".join(problems), {"problems": problems})
    settings = copy.deepcopy(command.settings)
    seed = settings.get("seed")
    if seed is None or seed < 0:
        seed = _seed_source.randint(0, MAX_SEED)
    settings["seed"] = seed
    settings["multi_prompts_gen_type"] = "FG"
    settings["prompt_enhancer"] = ""
    settings["output_filename"] = command.output_name
    return settings
