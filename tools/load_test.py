"""`tools/load_test.py`: the steps of a load-test run that happen outside `pulumi up` (the
load-test workflow calls them; a person can too, from the environment's runner).

    enable  STACK RUN_ID [SCENARIOS]  turn the load test on in Pulumi.<STACK>.yaml, on this
                                      machine only (main's file keeps it off)
    wait    RUN_ID [MINUTES]          wait until the TestRun has finished (or failed)
    report  RUN_ID                    k6's summary of every runner, as Markdown; exit 1 when a
                                      runner failed (k6 exits 99 when a threshold is crossed)
    cleanup RUN_ID [MINUTES]          resume the seeder's cleanup Job (archives the test data),
                                      then its key's revoke Job (deletes the key, archives the
                                      seeder), waiting for each

The Kubernetes steps use the current kubeconfig (`aws eks update-kubeconfig`). Exit 2 on bad
arguments, with one line naming the problem.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components.apps.load_test_data import SERVICE_ACCOUNT  # noqa: E402
from stacks.applications import LOAD_TEST_NAMESPACE, NAMESPACE, SEEDER_ISSUER  # noqa: E402

PROJECT = "smartdairy-platform"
#: k6-operator's TestRun stages that end a run (api/v1alpha1 Stage).
DONE = ("finished", "error")
RUNNER_TAIL = 60


def test_run(run_id: str) -> str:
    return f"seed-load-{run_id}"


def cleanup_jobs(run_id: str) -> list[str]:
    """In order: the test data's cleanup, then the seeder's own end."""
    return [f"{SERVICE_ACCOUNT}-cleanup-{run_id}", f"{SEEDER_ISSUER}-revoke-{run_id}"]


def job_state(conditions: Sequence[Any] | None) -> str:
    """`finished`, `error` or `running`, from a Job's Complete and Failed conditions (its pod
    counts pass through failed-and-none-active between retries)."""
    true = {c.type for c in conditions or () if c.status == "True"}
    return "finished" if "Complete" in true else "error" if "Failed" in true else "running"


def enable(stack_file: Path, run_id: str, scenarios: Sequence[str]) -> None:
    """Sets loadTest.enabled, runId and scenarios; keeps the section's other settings."""
    document = yaml.safe_load(stack_file.read_text())
    section = document["config"].setdefault(f"{PROJECT}:loadTest", {}) or {}
    section.update({"enabled": True, "runId": run_id, "scenarios": list(scenarios)})
    document["config"][f"{PROJECT}:loadTest"] = section
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False))


def wait_for_run(stage: Callable[[], str | None], minutes: float, sleep: Callable[[float], None] = time.sleep) -> str:
    """Polls a stage each minute until it is done (finished or error); prints each new one."""
    seen, deadline = None, time.monotonic() + minutes * 60
    while time.monotonic() < deadline:
        now = stage()
        if now != seen:
            print(f"stage: {now}", flush=True)
            seen = now
        if now in DONE:
            return now
        sleep(60)
    raise SystemExit(f"the TestRun was not done after {minutes:g} minutes (last stage: {seen})")


def report(run_id: str, runners: Sequence[tuple[str, int | None, str]]) -> tuple[str, bool]:
    """Markdown of (pod, exit code, log tail) per runner, and whether every runner passed."""
    passed = bool(runners) and all(code == 0 for _, code, _ in runners)
    lines = [f"### Load test `{test_run(run_id)}`: {'passed' if passed else 'FAILED'}", ""]
    for pod, code, tail in runners:
        verdict = "thresholds crossed" if code == 99 else f"exit {code}"
        lines += [f"#### {pod} ({verdict})", "", "```", tail.rstrip(), "```", ""]
    if not runners:
        lines.append("No runner pods were found.")
    return "\n".join(lines), passed


def _clients() -> tuple[Any, Any, Any]:
    from kubernetes import client, config

    config.load_kube_config()
    return client.CoreV1Api(), client.CustomObjectsApi(), client.BatchV1Api()


def _stage(objects: Any, run_id: str) -> str | None:
    run = objects.get_namespaced_custom_object("k6.io", "v1alpha1", LOAD_TEST_NAMESPACE, "testruns", test_run(run_id))
    return (run.get("status") or {}).get("stage")


def _runners(core: Any, run_id: str) -> list[tuple[str, int | None, str]]:
    pods = core.list_namespaced_pod(LOAD_TEST_NAMESPACE, label_selector=f"k6_cr={test_run(run_id)},runner=true")
    found = []
    for pod in sorted(pods.items, key=lambda p: p.metadata.name):
        state = (pod.status.container_statuses or [None])[0]
        code = state.state.terminated.exit_code if state and state.state.terminated else None
        tail = core.read_namespaced_pod_log(pod.metadata.name, LOAD_TEST_NAMESPACE, tail_lines=RUNNER_TAIL)
        found.append((pod.metadata.name, code, tail))
    return found


def _cleanup(batch: Any, run_id: str, minutes: float) -> None:
    for name in cleanup_jobs(run_id):
        batch.patch_namespaced_job(name, NAMESPACE, {"spec": {"suspend": False}})
        if wait_for_run(functools.partial(_job_state, batch, name), minutes) != "finished":
            raise SystemExit(f"the Job {name} failed: kubectl -n {NAMESPACE} logs job/{name}")


def _job_state(batch: Any, name: str) -> str:
    return job_state(batch.read_namespaced_job_status(name, NAMESPACE).status.conditions)


def main(argv: Sequence[str]) -> int:
    command, *rest = argv or ["help"]
    try:
        if command == "enable" and len(rest) in (2, 3):
            scenarios = [s for s in (rest[2] if len(rest) == 3 else "").split(",") if s]
            enable(ROOT / f"Pulumi.{rest[0]}.yaml", rest[1], scenarios)
            return 0
        if command in ("wait", "report", "cleanup") and len(rest) in (1, 2):
            return _on_the_cluster(command, rest[0], float(rest[1]) if len(rest) == 2 else 150.0)
    except (FileNotFoundError, ValueError) as error:
        print(f"load_test {command}: {error}", file=sys.stderr)
        return 2
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


def _on_the_cluster(command: str, run_id: str, minutes: float) -> int:
    """The steps that call the cluster. The Kubernetes client is imported here, not with the
    module: it takes 0.4 s, which the `enable` step and every test process importing this module
    for its pure helpers would otherwise pay."""
    from kubernetes.client.exceptions import ApiException

    try:
        core, objects, batch = _clients()
        if command == "wait":
            wait_for_run(lambda: _stage(objects, run_id), minutes)
        elif command == "cleanup":
            _cleanup(batch, run_id, minutes)
        else:
            text, passed = report(run_id, _runners(core, run_id))
            print(text)
            return 0 if passed else 1
        return 0
    except ApiException as error:
        print(f"load_test {command}: the cluster answered {error.status} {error.reason}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
