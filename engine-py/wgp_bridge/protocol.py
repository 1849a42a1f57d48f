"""Commands the bridge accepts (PROTOCOL.md): reading bounded lines and parsing them."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

PROTOCOL_VERSION = 1
DEFAULT_MAX_LINE_BYTES = 1 << 20
MAX_ID_CHARS = 256
# WanGP's late post-processing calls a `postprocess` command names (WanGPSession.submit_<call>).
POSTPROCESS_CALLS = ("media_postprocessing", "audio_remux")


@dataclass(frozen=True)
class GenerateCommand:
    id: str
    settings: dict[str, Any]
    output_dir: str
    output_name: str


@dataclass(frozen=True)
class PostprocessCommand:
    """Late post-processing of an existing file through WanGP's own session calls (PROTOCOL.md):
    `call` is `media_postprocessing` (submit_media_postprocessing) or `audio_remux` (submit_audio_remux);
    `params` are that call's keyword arguments, checked by wgp_bridge.postprocess."""

    id: str
    call: str
    source: str
    output_dir: str
    params: dict[str, Any]


@dataclass(frozen=True)
class CancelCommand:
    id: str


@dataclass(frozen=True)
class DescribeCommand:
    id: str
    model_type: str


@dataclass(frozen=True)
class PingCommand:
    id: str


@dataclass(frozen=True)
class ShutdownCommand:
    pass


Command = GenerateCommand | PostprocessCommand | CancelCommand | DescribeCommand | PingCommand | ShutdownCommand


class CommandError(Exception):
    """A line that is not a valid command. `id` and `command_type` are set when they could be read,
    so the reply can name the job or request it belongs to."""

    def __init__(
        self, message: str, *, id: str | None = None, command_type: str | None = None, detail: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.id = id
        self.command_type = command_type
        self.detail = detail


@dataclass(frozen=True)
class OversizedLine:
    size: int


def read_lines(stream: BinaryIO, max_bytes: int) -> Iterator[bytes | OversizedLine]:
    """Yields each line (without newline) until EOF; a line over max_bytes is skipped whole and
    yielded as OversizedLine so the caller can refuse it without buffering it."""
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        if len(line) <= max_bytes or line.endswith(b"\n"):
            yield line.rstrip(b"\r\n")
            continue
        size = len(line)
        while not line.endswith(b"\n"):
            line = stream.readline(1 << 16)
            if not line:
                break
            size += len(line)
        yield OversizedLine(size)


def parse_command(line: bytes) -> Command:
    try:
        data = json.loads(line.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise CommandError(f"not a JSON line: {exc}") from None
    except RecursionError:
        # json.loads recurses per nesting level: a line of a few thousand '[' would end the process.
        raise CommandError("not a JSON line: nested too deeply") from None
    if not isinstance(data, dict):
        raise CommandError("a command must be a JSON object")
    command_type = data.get("type")
    raw_id = data.get("id")
    command_id = raw_id if isinstance(raw_id, str) and 0 < len(raw_id) <= MAX_ID_CHARS else None
    parser = _PARSERS.get(command_type) if isinstance(command_type, str) else None
    if parser is None:
        raise CommandError(f"unknown command type {command_type!r}", id=command_id, detail={"known": sorted(_PARSERS)})
    if command_type != "shutdown" and command_id is None:
        raise CommandError(f"'{command_type}' needs an 'id': a non-empty string of at most {MAX_ID_CHARS} characters")
    try:
        return parser(command_id, data)
    except CommandError as exc:
        exc.id, exc.command_type = command_id, command_type
        raise


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _generate(command_id: str, data: dict[str, Any]) -> GenerateCommand:
    settings = data.get("settings")
    output_dir = data.get("output_dir")
    output_name = data.get("output_name")
    if not isinstance(settings, dict):
        raise CommandError("'settings' must be a JSON object of WanGP settings")
    if not isinstance(output_dir, str) or not os.path.isabs(output_dir):
        raise CommandError("'output_dir' must be an absolute path (the job's staging folder)")
    if not isinstance(output_name, str) or not _is_plain_file_stem(output_name):
        raise CommandError(
            "'output_name' must be a plain file name without extension: no '/', '\\', '{', '}', control "
            "characters, not '.' or '..', at most 200 characters"
        )
    return GenerateCommand(command_id, settings, output_dir, output_name)


def _postprocess(command_id: str, data: dict[str, Any]) -> PostprocessCommand:
    call, source, output_dir = data.get("call"), data.get("source"), data.get("output_dir")
    params = data.get("params", {})
    if call not in POSTPROCESS_CALLS:
        raise CommandError(f"'call' must be one of {', '.join(POSTPROCESS_CALLS)}", detail={"known": list(POSTPROCESS_CALLS)})
    if not isinstance(source, str) or not os.path.isabs(source):
        raise CommandError("'source' must be the absolute path of the file to post-process")
    if not isinstance(output_dir, str) or not os.path.isabs(output_dir):
        raise CommandError("'output_dir' must be an absolute path (the job's staging folder)")
    if not isinstance(params, dict):
        raise CommandError("'params' must be a JSON object of the call's parameters")
    return PostprocessCommand(command_id, call, source, output_dir, params)


def _is_plain_file_stem(name: str) -> bool:
    return (
        0 < len(name) <= 200
        and name.strip() == name
        and name not in (".", "..")
        and not any(ch in name for ch in "/\\{}")
        and all(ord(ch) >= 32 and ord(ch) != 127 for ch in name)
    )


def _describe(command_id: str, data: dict[str, Any]) -> DescribeCommand:
    model_type = data.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise CommandError("'model_type' must be a non-empty string")
    return DescribeCommand(command_id, model_type)


_PARSERS = {
    "generate": _generate,
    "postprocess": _postprocess,
    "cancel": lambda command_id, _data: CancelCommand(command_id),
    "describe": _describe,
    "ping": lambda command_id, _data: PingCommand(command_id),
    "shutdown": lambda _command_id, _data: ShutdownCommand(),
}
