#!/usr/bin/env python3
"""Writes libs/tasks/catalog/wangp-catalog.json: what wgp-farm knows of WanGP's settings and models,
read from a WanGP checkout (the one file TypeScript, engine-py and the test double all read).

usage: scripts/generate-wangp-catalog.py WANGP_CHECKOUT [--commit SHA] [--out PATH]

Read from the checkout:
- version strings and `ATTACHMENT_KEYS` from `wgp.py` (parsed, never run);
- setting names: the parameters of `wgp.generate_media` plus the keys of `models/_settings.json`;
- model types: `defaults/*.json` (name, architecture);
- each model's LoRA folder under the LoRA root: the family handlers' own `get_lora_dir`, imported
  with stand-in modules for everything the handlers import but this machine lacks (torch, gradio...).
  A handler that cannot be imported that way leaves its models without a folder (`null`).
"""

from __future__ import annotations

import argparse
import ast
import builtins
import importlib
import json
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "libs" / "tasks" / "catalog" / "wangp-catalog.json"
# generate_media parameters that are plumbing, not settings.
NOT_SETTINGS = {"task", "send_cmd", "state", "plugin_data"}
LORA_ROOT_MARK = "<loras>"


def module_constants(tree: ast.Module, names: set[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in names and name not in found:
                try:
                    found[name] = ast.literal_eval(node.value)
                except ValueError:
                    pass
    return found


def generate_media_parameters(tree: ast.Module) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "generate_media":
            arguments = node.args
            return [a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]]
    raise SystemExit("wgp.py has no generate_media function")


class _Opaque:
    """Whatever a handler imports from outside the checkout and the standard library (torch, gradio...)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self


class LightModules:
    """Loads the checkout's Python files partly: only their imports, functions, classes (methods
    only, no bases or decorators but @staticmethod) and assignments run, each statement on its own,
    failures skipped; outside imports become _Opaque. Enough to call small pure helpers such as a
    family handler's `get_lora_dir`, never the models."""

    def __init__(self, checkout: Path) -> None:
        self._checkout = checkout
        self._modules: dict[str, Any] = {}

    def load(self, dotted: str) -> Any:
        if dotted in self._modules:
            return self._modules[dotted]
        base = self._checkout.joinpath(*dotted.split("."))
        path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        if not path.is_file():
            return self._modules.setdefault(dotted, _Opaque())
        module = types.ModuleType(dotted)
        module.__package__ = dotted if path.name == "__init__.py" else dotted.rpartition(".")[0]
        self._modules[dotted] = module
        namespace = module.__dict__
        namespace["__builtins__"] = {**vars(builtins), "__import__": self._importer(module.__package__)}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            kept = _trimmed(node)
            if kept is None:
                continue
            try:
                exec(compile(ast.fix_missing_locations(ast.Module([kept], [])), str(path), "exec"), namespace)
            except Exception:
                pass
        return module

    def _importer(self, package: str):
        def light_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
            if level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - level + 1])
                name = f"{parent}.{name}" if name else parent
            top = name.split(".")[0]
            if top in sys.stdlib_module_names:
                importlib.import_module(name)
                return sys.modules[name] if fromlist else sys.modules[top]
            module = self.load(name)
            for item in fromlist or ():
                if not hasattr(module, item) and not isinstance(module, _Opaque):
                    setattr(module, item, self.load(f"{name}.{item}"))
            if fromlist:
                return module
            parts = name.split(".")
            for depth in range(1, len(parts)):
                parent = self.load(".".join(parts[:depth]))
                if not isinstance(parent, _Opaque):
                    setattr(parent, parts[depth], self.load(".".join(parts[: depth + 1])))
            return self.load(top)

        return light_import


def _trimmed(node: ast.stmt) -> ast.stmt | None:
    """The part of a top-level statement LightModules runs, or None to skip it."""
    if isinstance(node, ast.ClassDef):
        methods = [item for item in node.body if isinstance(item, ast.FunctionDef)]
        for method in methods:
            method.decorator_list = [ast.Name("staticmethod", ast.Load())] if _is_static(method) else []
        node.bases, node.keywords, node.decorator_list = [], [], []
        node.body = methods or [ast.Pass()]
        return node
    if isinstance(node, ast.FunctionDef):
        node.decorator_list = []
        return node
    return node if isinstance(node, (ast.Import, ast.ImportFrom, ast.Assign)) else None


def _is_static(method: ast.FunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in method.decorator_list)


def handler_lora_dirs(checkout: Path, handler_modules: list[str]) -> tuple[dict[str, str | None], list[str]]:
    """base model type -> LoRA folder relative to the LoRA root, from each handler's get_lora_dir."""
    modules = LightModules(checkout)
    no_overrides = argparse.Namespace()
    folders: dict[str, str | None] = {}
    problems: list[str] = []
    for module_name in handler_modules:
        try:
            handler = modules.load(module_name).family_handler
            base_types = list(handler.query_supported_types())
        except Exception as exc:
            problems.append(f"{module_name}: {type(exc).__name__}: {exc}")
            continue
        for base_type in base_types:
            try:
                folder = handler.get_lora_dir(base_type, no_overrides, LORA_ROOT_MARK)
            except Exception:
                folder = None
            if isinstance(folder, str) and folder.startswith(LORA_ROOT_MARK):
                folders.setdefault(base_type, folder[len(LORA_ROOT_MARK) :].strip("/\\") or ".")
            else:
                folders.setdefault(base_type, None)
    return folders, problems


def model_definitions(checkout: Path) -> dict[str, dict[str, Any]]:
    models: dict[str, dict[str, Any]] = {}
    for path in sorted((checkout / "defaults").glob("*.json")):
        model = json.loads(path.read_text(encoding="utf-8")).get("model", {})
        models[path.stem] = {
            "name": str(model.get("name", path.stem)),
            "architecture": str(model.get("architecture", path.stem)),
            "urls_from": model["URLs"] if isinstance(model.get("URLs"), str) else None,
        }
    return models


def checkout_commit(checkout: Path) -> str | None:
    done = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def build_catalog(checkout: Path, commit: str | None) -> tuple[dict[str, Any], list[str]]:
    tree = ast.parse((checkout / "wgp.py").read_text(encoding="utf-8"))
    constants = module_constants(
        tree, {"WanGP_version", "target_mmgp_version", "settings_version", "ATTACHMENT_KEYS", "family_handlers"}
    )
    primary = json.loads((checkout / "models" / "_settings.json").read_text(encoding="utf-8"))
    parameters = [p for p in generate_media_parameters(tree) if p not in NOT_SETTINGS]
    setting_names = sorted({*parameters, *primary, "settings_version"})
    lora_dirs, problems = handler_lora_dirs(checkout, list(constants.get("family_handlers", [])))
    models = model_definitions(checkout)
    for model in models.values():
        model["lora_dir"] = lora_dirs.get(model["architecture"])
    catalog = {
        "$comment": "Generated by scripts/generate-wangp-catalog.py from a WanGP checkout; do not edit by hand.",
        "wangp": {
            "repository": "deepbeepmeep/Wan2GP",
            "commit": commit,
            "version": constants.get("WanGP_version"),
            "mmgp_version": constants.get("target_mmgp_version"),
            "settings_version": constants.get("settings_version"),
        },
        "generate_media_parameters": parameters,
        "setting_names": setting_names,
        "media_keys": list(constants.get("ATTACHMENT_KEYS", [])),
        "models": models,
    }
    return catalog, problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout", type=Path)
    parser.add_argument("--commit", help="the checkout's commit (default: git rev-parse HEAD in it)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    options = parser.parse_args()
    checkout = options.checkout.resolve()
    catalog, problems = build_catalog(checkout, options.commit or checkout_commit(checkout))
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(catalog, indent=2) + "\n", encoding="utf-8")
    for problem in problems:
        print(f"warning: LoRA folders unknown for {problem}", file=sys.stderr)
    print(f"wrote {options.out}: WanGP {catalog['wangp']['version']}, {len(catalog['models'])} model types")


if __name__ == "__main__":
    main()
