"""The engine's options: what the worker must hand over, and where the engine's own defaults live."""

from __future__ import annotations

import pytest

from wgp_bridge.cli import UsageError, parse_options
from wgp_bridge.log_limiter import LogLimits
from wgp_bridge.protocol import DEFAULT_MAX_LINE_BYTES
from wgp_bridge.server import ServerLimits


def test_the_adapter_is_always_given() -> None:
    with pytest.raises(UsageError, match="--adapter"):
        parse_options(["--wangp-root", "/opt/Wan2GP", "--config-dir", "/tmp/gpu0"])


def test_dry_run_takes_its_duration_from_the_worker() -> None:
    with pytest.raises(UsageError, match="--adapter dry-run needs --dry-run-duration"):
        parse_options(["--adapter", "dry-run"])
    assert parse_options(["--adapter", "dry-run", "--dry-run-duration", "0.25"]).dry_run_duration == 0.25
    with pytest.raises(UsageError, match="0 or more"):
        parse_options(["--adapter", "dry-run", "--dry-run-duration", "-1"])


def test_the_engine_limits_default_to_the_classes_that_use_them() -> None:
    options = parse_options(["--adapter", "dry-run", "--dry-run-duration", "0"])
    assert options.max_line_bytes == DEFAULT_MAX_LINE_BYTES
    assert (options.log_lines_per_s, options.log_burst, options.log_line_max_chars) == (
        LogLimits.lines_per_s,
        LogLimits.burst,
        LogLimits.max_line_chars,
    )
    assert options.shutdown_grace == ServerLimits.shutdown_grace_s
