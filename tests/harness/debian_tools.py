"""Command-line tools from the Debian packages tools/install-servers.sh installs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def run_tool(tool: str, *args: str, cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run `tool` (promtool, amtool ...) in `cwd`; a missing tool fails the test, never skips it."""
    binary = shutil.which(tool)
    if binary is None:
        pytest.fail(f"{tool} is not installed: run tools/install-servers.sh")
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
