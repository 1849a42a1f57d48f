"""Facts for the `ready` message: Python version and, when torch is already loaded, the GPU."""

from __future__ import annotations

import platform
import sys
from typing import Any


def python_version() -> str:
    return platform.python_version()


def loaded_gpu() -> dict[str, Any] | None:
    """Reads the visible GPU through torch if WanGP has imported it; never imports torch itself."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        if not torch.cuda.is_available():
            return None
        props = torch.cuda.get_device_properties(0)
        return {"name": str(props.name), "vram_mb": int(props.total_memory) // (1024 * 1024)}
    except Exception:
        return None
