"""A Lambda deployment package built from files, not from a build step: the function's own
package from the repository, and its pure-Python dependencies from the environment the program
runs in, which requirements.txt pins with hashes. `pulumi up` packages exactly what was reviewed."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Sequence
from pathlib import Path

import pulumi

#: Python of the functions; the dependencies are pure Python, so any 3.x Lambda runtime loads them.
RUNTIME = "python3.12"


def _files(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    """The source files under `root`, without bytecode caches (they differ between machines)."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield f"{prefix}/{path.relative_to(root).as_posix()}", path


def installed(module: str) -> tuple[str, Path]:
    """Where `module` is installed: a package directory or a single-file module."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"{module} is not installed: run `make install`")
    origin = Path(spec.origin)
    return (module, origin.parent) if origin.name == "__init__.py" else (origin.name, origin)


def python_archive(package: Path, dependencies: Sequence[str]) -> pulumi.AssetArchive:
    """`package` at the archive's root (its name is the handler's first part), with each of
    `dependencies` (importable names) beside it."""
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {
        name: pulumi.FileAsset(str(path)) for name, path in _files(package, package.name)
    }
    for module in dependencies:
        name, path = installed(module)
        if path.is_dir():
            assets.update({key: pulumi.FileAsset(str(file)) for key, file in _files(path, name)})
        else:
            assets[name] = pulumi.FileAsset(str(path))
    return pulumi.AssetArchive(assets)
