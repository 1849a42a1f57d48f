from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bridge_process import FAKE_WANGP, BridgeProcess  # noqa: E402
from wangp_roots import (  # noqa: E402
    build_real_api_root,
    real_api_layer_checkout,
    real_api_layer_wanted,
    skip_reason,
)

StartBridge = Callable[..., BridgeProcess]
CONTRACT_MARK = "wangp_contract"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{CONTRACT_MARK}: the adapter's contract tests; with WGP_FARM_TEST_API_LAYER=real they run over "
        "WanGP's own shared/api.py from WGP_FARM_TEST_WANGP_ROOT (npm run test:wangp)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not real_api_layer_wanted():
        return
    reason = skip_reason()
    for item in items:
        if CONTRACT_MARK not in item.keywords:
            item.add_marker(pytest.mark.skip(reason="the real-API-layer mode runs only the contract tests"))
        elif reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def wangp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The WanGP root of this run: the double, or the double's wgp.py under WanGP's own API layer."""
    checkout = real_api_layer_checkout()
    if real_api_layer_wanted() and checkout is not None and skip_reason() is None:
        return build_real_api_root(checkout, tmp_path_factory.mktemp("real-api") / "wangp")
    return FAKE_WANGP


@pytest.fixture
def record_file(tmp_path: Path) -> Path:
    return tmp_path / "fake-wangp-record.jsonl"


@pytest.fixture
def start_bridge(tmp_path: Path, record_file: Path, wangp_root: Path) -> Iterator[StartBridge]:
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
                str(wangp_root),
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


@pytest.fixture
def ready_bridge_message(start_bridge: StartBridge) -> dict:
    bridge = start_bridge()
    message = bridge.next_message()
    assert message["type"] == "ready"
    return message
