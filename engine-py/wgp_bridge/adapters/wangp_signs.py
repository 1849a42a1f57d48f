"""Texts by which WanGP's failures are recognised (CONTRACT.md §7)."""

from __future__ import annotations

from collections.abc import Iterable

# In the error message WanGP reports (its rewording, or the raw text outside the model call).
MESSAGE_OOM_SIGNS = ("unsufficient vram", "unsufficient ram", "out of memory")
# In the captured stdout/stderr lines, where the raw exception is printed.
STREAM_OOM_SIGNS = ("outofmemoryerror", "cuda out of memory")
# CUDA errors other than OOM leave the CUDA context unusable: only a new process recovers.
# Checked after the OOM signs, since "CUDA error: out of memory" is an OOM.
CUDA_POISON_SIGNS = (
    "cuda error",
    "illegal memory access",
    "device-side assert",
    "unspecified launch failure",
    "cudaerrorillegaladdress",
    "cublas_status_execution_failed",
    "misaligned address",
)


def contains_any(text: str, signs: Iterable[str]) -> bool:
    lowered = text.lower()
    return any(sign in lowered for sign in signs)
