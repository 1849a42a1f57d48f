"""What the server needs from an adapter, and what a finished job returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from wgp_bridge.job_context import JobContext
from wgp_bridge.media_types import MediaType, media_type_of, pick_main_file
from wgp_bridge.protocol import GenerateCommand, PostprocessCommand


@dataclass(frozen=True)
class StartInfo:
    wangp_version: str | None = None
    gpu: dict[str, Any] | None = None
    wangp: dict[str, Any] | None = None


@dataclass(frozen=True)
class Timings:
    model_load_s: float
    generation_s: float
    total_s: float


@dataclass(frozen=True)
class JobOutcome:
    files: list[str]
    seed: int
    model_type: str
    settings: dict[str, Any]
    timings: Timings
    main_outputs: tuple[str, ...] = ()

    @property
    def main_file(self) -> str:
        """The last file of the model's main output kind (video, image or audio); the last file
        when none is: with sliding windows WanGP saves the full video last."""
        return pick_main_file(self.files, self.main_outputs)

    @property
    def media_type(self) -> MediaType:
        return media_type_of(self.main_file)


class Adapter(Protocol):
    name: str

    def start(self) -> StartInfo:
        """Loads the engine; raises FatalError when it cannot."""
        ...

    def generate(self, command: GenerateCommand, job: JobContext) -> JobOutcome:
        """Runs one job on the calling thread; raises JobError for any failure."""
        ...

    def postprocess(self, command: PostprocessCommand, job: JobContext) -> JobOutcome:
        """Runs one late post-processing job (WanGP's edit task) on the calling thread; JobError for any failure."""
        ...

    def describe(self, model_type: str) -> dict[str, Any]:
        """Defaults, LoRA folder and availability of a model type; JobError("invalid") if unknown."""
        ...

    def close(self) -> None:
        """Releases the engine before exit."""
        ...
