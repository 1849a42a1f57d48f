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


# Mistakes in the task that WanGP reports while preparing a generation (stage "generation", often
# a quoted gr.Error): LoRA files and multipliers, prompt window commands, keep-frames. Retrying
# them never helps. Texts of wgp.py and shared/utils/{loras_mutipliers,frame_scheduler}.py.
USER_ERROR_SIGNS = (
    "error while loading loras",
    "error parsing loras",
    "error parsing transformer loras",
    "loras multipliers",
    "lora multiplier",
    "prompt slash window commands",
    "unknown prompt command '/",
    "invalid /duration",
    "/duration requires",
    "/duration must",
    "invalid /overlap",
    "/overlap value",
    "/overlap must",
    "/overlap=0 is only",
    "/new_shot ",
    "/loras_mult requires",
    "invalid keep frames",
)
# A weight or LoRA file WanGP could not fetch (huggingface_hub, urllib): the network or the
# source, not the task; worth retrying later or elsewhere.
DOWNLOAD_SIGNS = (
    "cannot find the requested files in the local cache",
    "localentrynotfounderror",
    "hfhubhttperror",
    "repositorynotfounderror",
    "entrynotfounderror",
    "urlopen error",
    "max retries exceeded",
    "temporary failure in name resolution",
    "name or service not known",
    "connection refused",
    "read timed out",
    "incompleteread",
)


def contains_any(text: str, signs: Iterable[str]) -> bool:
    lowered = text.lower()
    return any(sign in lowered for sign in signs)
