"""Command-line options of `python -m wgp_bridge`.

The worker hands the engine every value it owns (the adapter, the dry-run duration) explicitly, so
those options have no default here: the worker's option declarations hold it (apps/worker). The
engine's own limits take their defaults from the classes that use them.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from wgp_bridge.log_limiter import LogLimits
from wgp_bridge.overrides import LEGACY_OPTIONS
from wgp_bridge.protocol import DEFAULT_MAX_LINE_BYTES
from wgp_bridge.server import ServerLimits


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m wgp_bridge", description="Keeps WanGP loaded and speaks JSON lines (PROTOCOL.md).")
    parser.add_argument("--adapter", choices=("wangp", "dry-run"), required=True)
    parser.add_argument("--wangp-root", type=Path, help="the WanGP checkout (required by the wangp adapter)")
    parser.add_argument(
        "--config-dir", type=Path, help="this GPU's folder for wgp_config.json (required by the wangp adapter)"
    )
    parser.add_argument(
        "--scratch-dir",
        type=Path,
        help="where WanGP writes before files move to the job's folder (default: CONFIG_DIR/outputs)",
    )
    parser.add_argument(
        "--no-console-output",
        dest="console_output",
        action="store_false",
        help="do not mirror WanGP's output to stderr",
    )
    parser.add_argument(
        "--dry-run-duration", type=float, metavar="SECONDS", help="dry-run: time one job takes (required by dry-run)"
    )
    parser.add_argument("--max-line-bytes", type=int, default=DEFAULT_MAX_LINE_BYTES)
    parser.add_argument("--log-lines-per-s", type=float, default=LogLimits.lines_per_s)
    parser.add_argument("--log-burst", type=int, default=LogLimits.burst)
    parser.add_argument("--log-line-max-chars", type=int, default=LogLimits.max_line_chars)
    parser.add_argument(
        "--shutdown-grace",
        type=float,
        default=ServerLimits.shutdown_grace_s,
        metavar="SECONDS",
        help="how long shutdown waits for a cancelled job",
    )
    legacy = parser.add_argument_group("WanGP options (the old --wgp-* flags, mapped per CONTRACT.md §3)")
    for option in LEGACY_OPTIONS:
        legacy.add_argument(option.flag, dest=_dest(option.flag), metavar="VALUE", help=option.help)
    legacy.add_argument(
        "--wangp-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra WanGP CLI argument (repeatable), e.g. --wangp-arg=--verbose --wangp-arg=2",
    )
    return parser


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    options = build_parser().parse_args(argv)
    if options.adapter == "wangp" and (options.wangp_root is None or options.config_dir is None):
        raise UsageError("--adapter wangp needs --wangp-root and --config-dir")
    if options.adapter == "dry-run" and options.dry_run_duration is None:
        raise UsageError("--adapter dry-run needs --dry-run-duration")
    if options.dry_run_duration is not None and options.dry_run_duration < 0:
        raise UsageError("--dry-run-duration must be 0 or more")
    return options


def legacy_values(options: argparse.Namespace) -> dict[str, str]:
    """The --wgp-* options that were given, keyed by flag."""
    values = {}
    for option in LEGACY_OPTIONS:
        value = getattr(options, _dest(option.flag))
        if value is not None:
            values[option.flag] = value
    return values


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")
