"""The old --wgp-* options mapped onto today's WanGP (CONTRACT.md §3)."""

from __future__ import annotations

import pytest
from wgp_bridge.overrides import OverrideError, map_overrides


def test_cli_options_become_wangp_flags_and_the_rest_config_keys() -> None:
    mapped = map_overrides(
        {
            "--wgp-attention-mode": "sage2",
            "--wgp-compile": "true",
            "--wgp-profile": "4",
            "--wgp-vae-config": "2",
            "--wgp-transformer-dtype-policy": "bf16",
            "--wgp-boost": "1",
            "--wgp-transformer-quantization": "int8",
            "--wgp-text-encoder-quantization": "bf16",
            "--wgp-vae-precision": "16",
            "--wgp-mixed-precision": "0",
            "--wgp-preload-policy": "S,U",
        },
        ["--verbose", "2"],
    )
    assert mapped.cli_args == (
        "--attention",
        "sage2",
        "--compile",
        "--profile",
        "4",
        "--vae-config",
        "2",
        "--bf16",
        "--verbose",
        "2",
    )
    assert mapped.config == {
        "boost": 1,
        "transformer_quantization": "int8",
        "text_encoder_quantization": "bf16",
        "vae_precision": "16",
        "mixed_precision": "0",
        "preload_model_policy": ["S", "U"],
    }


def test_empty_values_mean_wangp_defaults() -> None:
    mapped = map_overrides({"--wgp-compile": "", "--wgp-transformer-dtype-policy": "", "--wgp-preload-policy": ""}, [])
    assert mapped.cli_args == ()
    assert mapped.config == {"preload_model_policy": []}


@pytest.mark.parametrize(
    ("option", "value", "reason_part"),
    [
        ("--wgp-preload-policy", "P", "wait forever"),
        ("--wgp-preload-policy", "PS", "wait forever"),
        ("--wgp-preload-policy", "X", "unknown letters"),
        ("--wgp-boost", "0", "use 2"),
        ("--wgp-transformer-quantization", "fp16", "use bf16"),
        ("--wgp-text-encoder-quantization", "fp16", "use bf16"),
        ("--wgp-vae-precision", "fp32", "use 32"),
        ("--wgp-mixed-precision", "true", "use 1"),
        ("--wgp-profile", "6", "3.5"),
        ("--wgp-attention-mode", "sage3", "auto"),
        ("--wgp-vae-config", "7", "WanGP accepts only"),
    ],
)
def test_values_wangp_no_longer_takes_are_refused(option: str, value: str, reason_part: str) -> None:
    with pytest.raises(OverrideError) as refused:
        map_overrides({option: value}, [])
    assert (refused.value.option, refused.value.value) == (option, value)
    assert reason_part in refused.value.reason


@pytest.mark.parametrize("arg", ["--gpu", "--gpu=cuda:1", "--config", "--quantize-transformer"])
def test_passthrough_args_the_bridge_owns_are_refused(arg: str) -> None:
    with pytest.raises(OverrideError):
        map_overrides({}, [arg])
