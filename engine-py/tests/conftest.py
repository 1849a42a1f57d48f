from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bridge_process import FAKE_WANGP, BridgeProcess  # noqa: E402

StartBridge = Callable[..., BridgeProcess]


@pytest.fixture
def record_file(tmp_path: Path) -> Path:
    return tmp_path / "fake-wangp-record.jsonl"


@pytest.fixture
def start_bridge(tmp_path: Path, record_file: Path) -> Iterator[StartBridge]:
    """Starts the bridge with the wangp adapter on the WanGP test double (or any other args)."""
    started: list[BridgeProcess] = []

    def start(
        *extra_args: str, env: dict[str, str] | None = None, adapter_args: list[str] | None = None
    ) -> BridgeProcess:
        args = (
            adapter_args
            if adapter_args is not None
            else [
                "--adapter",
                "wangp",
                "--wangp-root",
                str(FAKE_WANGP),
                "--config-dir",
                str(tmp_path / "gpu0"),
            ]
        )
        bridge = BridgeProcess([*args, *extra_args], env={"FAKE_WANGP_RECORD": str(record_file), **(env or {})})
        started.append(bridge)
        return bridge

    yield start
    for bridge in started:
        bridge.close()


@pytest.fixture
def ready_bridge(start_bridge: StartBridge) -> BridgeProcess:
    bridge = start_bridge()
    assert bridge.next_message()["type"] == "ready"
    return bridge
