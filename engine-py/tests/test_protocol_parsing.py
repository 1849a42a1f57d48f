from __future__ import annotations

import io

import pytest
from wgp_bridge.protocol import (
    CancelCommand,
    CommandError,
    DescribeCommand,
    GenerateCommand,
    OversizedLine,
    ShutdownCommand,
    parse_command,
    read_lines,
)


def test_each_command_parses() -> None:
    generate = parse_command(
        b'{"type":"generate","id":"j","settings":{"model_type":"t2v"},"output_dir":"/s","output_name":"out"}'
    )
    assert generate == GenerateCommand("j", {"model_type": "t2v"}, "/s", "out")
    assert parse_command(b'{"type":"cancel","id":"j"}') == CancelCommand("j")
    assert parse_command(b'{"type":"describe","id":"d","model_type":"t2v"}') == DescribeCommand("d", "t2v")
    assert parse_command(b'{"type":"shutdown"}') == ShutdownCommand()


@pytest.mark.parametrize(
    ("line", "command_id"),
    [
        (b'{"type":"generate","id":"j","settings":[],"output_dir":"/s","output_name":"o"}', "j"),
        (b'{"type":"generate","id":"j","settings":{},"output_dir":"/s","output_name":"a{seed}"}', "j"),
        (b'{"type":"generate","id":"","settings":{},"output_dir":"/s","output_name":"o"}', None),
        (b'{"type":"describe","id":"d"}', "d"),
        (b'{"type":"cancel","id":5}', None),
    ],
)
def test_bad_commands_are_refused_naming_the_id_when_known(line: bytes, command_id: str | None) -> None:
    with pytest.raises(CommandError) as refused:
        parse_command(line)
    assert refused.value.id == command_id


def test_a_deeply_nested_line_is_refused_not_fatal() -> None:
    # Found by the chaos suite: the RecursionError escaped and ended the bridge.
    with pytest.raises(CommandError, match="nested too deeply"):
        parse_command(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(CommandError, match="nested too deeply"):
        parse_command(b'{"type":"ping","id":"p","x":' + b'{"a":' * 50_000 + b"1" + b"}" * 50_001)


def test_read_lines_skips_an_oversized_line_whole() -> None:
    stream = io.BytesIO(b"short\n" + b"y" * 50 + b"\nafter\nend")
    assert list(read_lines(stream, 10)) == [b"short", OversizedLine(51), b"after", b"end"]
