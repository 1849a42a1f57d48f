"""Entry point: take over stdout for the protocol, start the adapter, announce `ready` or
`fatal`, then serve commands."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

from wgp_bridge import __version__
from wgp_bridge.adapters.base import Adapter
from wgp_bridge.adapters.dry_run import DryRunAdapter, DryRunOptions
from wgp_bridge.adapters.wangp import WanGPAdapter, WanGPAdapterOptions
from wgp_bridge.channel import ProtocolChannel
from wgp_bridge.cli import UsageError, legacy_values, parse_options
from wgp_bridge.errors import FatalError
from wgp_bridge.log_limiter import LogLimits
from wgp_bridge.overrides import OverrideError, map_overrides
from wgp_bridge.parent_watch import watch_parent
from wgp_bridge.protocol import PROTOCOL_VERSION
from wgp_bridge.server import BridgeServer, ServerLimits
from wgp_bridge.system_info import python_version

EXIT_USAGE = 2
EXIT_FATAL = 3


def main(argv: Sequence[str] | None = None) -> int:
    channel = ProtocolChannel.take_over_stdout()  # first: nothing may reach fd 1 before this
    # A terminal's Ctrl+C goes to the whole process group: the worker drains on it, and this engine
    # must go on with its job until the worker says `cancel` or `shutdown` (or sends SIGTERM).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The same for the SIGHUP of a closed terminal or a dropped SSH session.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    watch_parent()
    try:
        options = parse_options(argv)
        adapter = _build_adapter(options)
    except (UsageError, OverrideError) as exc:
        channel.send("fatal", message=f"bad options: {exc}", detail=_override_detail(exc))
        return EXIT_USAGE
    try:
        info = adapter.start()
    except FatalError as exc:
        channel.send("fatal", message=exc.message, detail=exc.detail)
        return EXIT_FATAL
    channel.send(
        "ready",
        protocol=PROTOCOL_VERSION,
        adapter=adapter.name,
        engine_version=__version__,
        wangp_version=info.wangp_version,
        python=python_version(),
        gpu=info.gpu,
        pid=os.getpid(),
        max_line_bytes=options.max_line_bytes,
        wangp=info.wangp,
    )
    limits = ServerLimits(
        max_line_bytes=options.max_line_bytes,
        log=LogLimits(options.log_lines_per_s, options.log_burst, options.log_line_max_chars),
        shutdown_grace_s=options.shutdown_grace,
    )
    return BridgeServer(channel, adapter, limits).serve(sys.stdin.buffer)


def run() -> None:
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    # WanGP may leave non-daemon threads behind; they must not keep the process alive.
    os._exit(code)


def _build_adapter(options) -> Adapter:
    if options.adapter == "dry-run":
        return DryRunAdapter(DryRunOptions(options.dry_run_duration, options.wangp_root))
    config_dir = options.config_dir
    return WanGPAdapter(
        WanGPAdapterOptions(
            root=options.wangp_root,
            config_dir=config_dir,
            scratch_dir=options.scratch_dir or config_dir / "outputs",
            overrides=map_overrides(legacy_values(options), options.wangp_arg),
            console_output=options.console_output,
        )
    )


def _override_detail(exc: Exception) -> dict[str, str] | None:
    if isinstance(exc, OverrideError):
        return {"option": exc.option, "value": exc.value, "reason": exc.reason}
    return None
