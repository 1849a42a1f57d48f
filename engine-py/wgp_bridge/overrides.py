"""The old headless script's `--wgp-*` options, mapped onto today's WanGP (CONTRACT.md §3):
some became WanGP CLI flags, the rest keys of the per-GPU `wgp_config.json`. A value WanGP no
longer takes is refused with the reason and, where there is one, the replacement."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

ATTENTION_MODES = ("auto", "sdpa", "sage", "sage2", "flash", "xformers")
PROFILES = (1.0, 2.0, 3.0, 3.5, 4.0, 4.5, 5.0)
REFUSED_PASSTHROUGH = {
    "--gpu": "it overwrites CUDA_VISIBLE_DEVICES; the worker picks the GPU through that variable",
    "--config": "the bridge sets WanGP's config folder itself from --config-dir",
    "--quantize-transformer": "WanGP removed it; use --wgp-transformer-quantization (config transformer_quantization)",
}


class OverrideError(Exception):
    def __init__(self, option: str, value: str, reason: str) -> None:
        super().__init__(f"{option} {value!r} refused: {reason}")
        self.option = option
        self.value = value
        self.reason = reason


class _Refused(Exception):
    pass


@dataclass(frozen=True)
class WanGPOverrides:
    cli_args: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)


Converter = Callable[[str], Any]


@dataclass(frozen=True)
class LegacyOption:
    flag: str
    target: Literal["cli", "config"]
    key: str  # the config key, or a label for CLI options
    convert: Converter
    help: str


def _choice(accepted: dict[str, Any], replacements: dict[str, str] | None = None) -> Converter:
    def convert(value: str) -> Any:
        normalized = value.strip().lower()
        if normalized in accepted:
            return accepted[normalized]
        hint = (replacements or {}).get(normalized)
        names = ", ".join(repr(name) for name in accepted if name)
        raise _Refused(f"WanGP no longer accepts it; {hint}" if hint else f"WanGP accepts only {names}")

    return convert


def _profile(value: str) -> list[str]:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if number not in PROFILES:
        raise _Refused("WanGP profiles are 1, 2, 3, 3.5, 4, 4.5 and 5")
    return ["--profile", f"{number:g}"]


def _preload_policy(value: str) -> list[str]:
    letters = [ch for ch in value.upper() if ch not in " ,;"]
    if value.strip().lower() == "none":
        letters = []
    if "P" in letters:
        raise _Refused(
            "'P' (load the model when WanGP starts) makes WanGP wait forever for a model after a failed "
            "load; the bridge loads on the first job instead. Use '' (default), 'S' or 'U' (UI-only)"
        )
    unknown = sorted(set(letters) - {"S", "U"})
    if unknown:
        raise _Refused(f"unknown letters {unknown}; WanGP takes 'S' and 'U' (and 'P', which is refused)")
    return sorted(set(letters))


_OFF = "boost is now 1 (on) or 2 (off): use 2"
_ON = "boost is now 1 (on) or 2 (off): use 1"
_VAE = "vae_precision is now the string '16' or '32': use "
_MIXED = "mixed_precision is now the string '0' or '1': use "
_COMPILE = {
    "": [],
    "none": [],
    "false": [],
    "0": [],
    "transformer": ["--compile"],
    "true": ["--compile"],
    "1": ["--compile"],
}

LEGACY_OPTIONS: tuple[LegacyOption, ...] = (
    LegacyOption(
        "--wgp-attention-mode",
        "cli",
        "--attention",
        _choice({mode: ["--attention", mode] for mode in ATTENTION_MODES}),
        "attention: auto, sdpa, sage, sage2, flash, xformers",
    ),
    LegacyOption(
        "--wgp-compile",
        "cli",
        "--compile",
        _choice(_COMPILE),
        "compile the transformer (needs Triton): transformer or ''",
    ),
    LegacyOption("--wgp-profile", "cli", "--profile", _profile, "memory profile: 1, 2, 3, 3.5, 4, 4.5, 5"),
    LegacyOption(
        "--wgp-vae-config",
        "cli",
        "--vae-config",
        _choice({str(n): ["--vae-config", str(n)] for n in range(4)}),
        "VAE tiling: 0 auto, 1 >=16GB, 2 >=8GB, 3 >=6GB",
    ),
    LegacyOption(
        "--wgp-transformer-dtype-policy",
        "cli",
        "--fp16/--bf16",
        _choice({"": [], "fp16": ["--fp16"], "bf16": ["--bf16"]}, {"fp32": "transformers run in fp16 or bf16"}),
        "transformer dtype: '' (auto), fp16, bf16",
    ),
    LegacyOption(
        "--wgp-boost",
        "config",
        "boost",
        _choice({"1": 1, "2": 2}, {"0": _OFF, "off": _OFF, "false": _OFF, "on": _ON, "true": _ON}),
        "boost: 1 on, 2 off",
    ),
    LegacyOption(
        "--wgp-transformer-quantization",
        "config",
        "transformer_quantization",
        _choice(
            {"int8": "int8", "fp8": "fp8", "bf16": "bf16"},
            {"fp16": "use bf16 (unquantized weights) with --wgp-transformer-dtype-policy fp16", "none": "use bf16"},
        ),
        "int8, fp8, bf16",
    ),
    LegacyOption(
        "--wgp-text-encoder-quantization",
        "config",
        "text_encoder_quantization",
        _choice({"int8": "int8", "bf16": "bf16"}, {"fp16": "use bf16", "none": "use bf16"}),
        "int8, bf16",
    ),
    LegacyOption(
        "--wgp-vae-precision",
        "config",
        "vae_precision",
        _choice({"16": "16", "32": "32"}, {"fp16": _VAE + "16", "bf16": _VAE + "16", "fp32": _VAE + "32"}),
        "16 or 32",
    ),
    LegacyOption(
        "--wgp-mixed-precision",
        "config",
        "mixed_precision",
        _choice({"0": "0", "1": "1"}, {"false": _MIXED + "0", "true": _MIXED + "1"}),
        "0 or 1",
    ),
    LegacyOption(
        "--wgp-preload-policy", "config", "preload_model_policy", _preload_policy, "'' (default), S, U; P is refused"
    ),
)


def map_overrides(values: dict[str, str], passthrough: list[str]) -> WanGPOverrides:
    """values: legacy flag → value as given. passthrough: extra WanGP CLI args, checked for flags the bridge owns."""
    cli_args: list[str] = []
    config: dict[str, Any] = {}
    for option in LEGACY_OPTIONS:
        if option.flag not in values:
            continue
        value = values[option.flag]
        try:
            converted = option.convert(value)
        except _Refused as refused:
            raise OverrideError(option.flag, value, str(refused)) from None
        if option.target == "cli":
            cli_args.extend(converted)
        else:
            config[option.key] = converted
    for arg in passthrough:
        name = arg.split("=", 1)[0]
        if name in REFUSED_PASSTHROUGH:
            raise OverrideError("--wangp-arg", arg, REFUSED_PASSTHROUGH[name])
    return WanGPOverrides(tuple(cli_args + passthrough), config)
