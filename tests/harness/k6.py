"""Evaluate a k6 script's exports with Node: k6's modules replaced by inert stubs, so the
`options` k6 would read (and what its `setup()` makes of given answers) can be checked without
k6 (which no package registry here offers)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

STUBS = {
    "package.json": json.dumps(
        {
            "name": "k6",
            "type": "module",
            "exports": {".": "./index.js", "./http": "./http.js", "./metrics": "./metrics.js"},
        }
    ),
    "index.js": "export const check = () => true; export const group = (_, f) => f(); export const sleep = () => {};",
    "http.js": "export default {};",
    "metrics.js": "class Metric { add() {} } export class Rate extends Metric {} "
    "export class Trend extends Metric {} export class Counter extends Metric {}",
}


def node() -> str:
    binary = shutil.which("node")
    if binary is None:
        pytest.fail("node is not installed: run tools/install-servers.sh")
    return binary


def k6_exports(script: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The script's exported `options` and `JOURNEY` (None when it has none) under `__ENV`."""
    return k6_evaluate(script, env, "({options: m.options, journey: m.JOURNEY ?? null})")


def k6_setup(script: Path, env: dict[str, str], responses: dict[str, dict]) -> Any:
    """What the script's `setup()` returns when `http.get(url)` answers `responses[url]`
    ({status, body}; any other URL: 404)."""
    http = (
        f"const answers = {json.dumps(responses)};"
        "export default { get(url) { const a = answers[url] ?? {status: 404, body: null};"
        " return {status: a.status, json: (path) => path ? a.body?.[path] : a.body}; } };"
    )
    return k6_evaluate(script, env, "m.setup()", http)


def k6_evaluate(script: Path, env: dict[str, str] | None, expression: str, http: str = STUBS["http.js"]) -> Any:
    """`expression` (over the script's module `m`) evaluated by Node under `__ENV`, with k6's
    modules stubbed and `k6/http` replaced by `http`."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "package.json").write_text('{"type": "module"}')
        stubs = root / "node_modules" / "k6"
        stubs.mkdir(parents=True)
        for name, text in (STUBS | {"http.js": http}).items():
            (stubs / name).write_text(text)
        shutil.copy(script, root / "script.js")
        program = (
            f"globalThis.__ENV = {json.dumps(env or {})};"
            "const m = await import('./script.js');"
            f"process.stdout.write(JSON.stringify({expression}));"
        )
        done = subprocess.run(
            [node(), "--input-type=module", "-e", program], cwd=root, capture_output=True, text=True, timeout=60
        )
        if done.returncode:
            errors = [
                line for line in done.stderr.splitlines() if line.startswith(("Error", "TypeError", "SyntaxError"))
            ]
            raise RuntimeError(errors[0].strip() if errors else done.stderr.strip() or "node failed")
        return json.loads(done.stdout)
