"""Moving the files WanGP wrote (into the bridge's scratch folder) into the job's staging folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from wgp_bridge.bridge_log import note


def move_into(files: list[str], destination: str) -> list[str]:
    """Moves each existing file into destination, keeping order and base names (a clash gets a
    `-2`, `-3`… suffix). Returns the new absolute paths; files that vanished are skipped."""
    target_dir = Path(destination)
    target_dir.mkdir(parents=True, exist_ok=True)
    moved: list[str] = []
    for name in files:
        source = Path(name)
        if not source.is_file():
            note(f"WanGP listed {source} but it does not exist")
            continue
        target = _free_path(target_dir, source.name)
        shutil.move(str(source), str(target))
        moved.append(str(target.resolve()))
    return moved


def clear_folder_files(folder: Path) -> None:
    """Removes files left in the scratch folder by a previous run (never sub-folders)."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        if entry.is_file() or entry.is_symlink():
            entry.unlink()


def _free_path(folder: Path, name: str) -> Path:
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    counter = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{counter}{suffix}"
        counter += 1
    return candidate
