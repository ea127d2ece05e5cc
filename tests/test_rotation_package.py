"""The rotation function's deployment package, as `pulumi up` uploads it: it imports in a bare
interpreter that has only the package and what the Lambda runtime provides (boto3)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from components.aws.python_function import python_archive
from components.data.credential_rotation import FUNCTION_DEPENDENCIES, FUNCTION_SOURCE, HANDLER


def unpack(archive, into: Path) -> set[str]:
    for name, asset in archive.assets.items():
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(asset.path, target)
    return set(archive.assets)


def test_the_package_imports_with_only_the_runtime_beside_it(tmp_path):
    package, runtime = tmp_path / "package", tmp_path / "runtime"
    names = unpack(python_archive(FUNCTION_SOURCE, FUNCTION_DEPENDENCIES), package)
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert {"pg8000-1.31.6.dist-info/METADATA", "scramp-1.5.0.dist-info/METADATA"} <= names
    # The Lambda runtime provides boto3; nothing of it is needed to import the handler.
    (runtime / "boto3").mkdir(parents=True)
    (runtime / "boto3" / "__init__.py").write_text("")
    module, function = HANDLER.rsplit(".", 1)
    code = (
        f"import sys; sys.path[:0] = [{str(package)!r}, {str(runtime)!r}]; import {module} as m; "
        f"assert callable(m.{function}); import pg8000, scramp; print(pg8000.__version__, scramp.__version__)"
    )
    result = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1.31.6", "1.5.0"]
