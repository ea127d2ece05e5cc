"""Benchmark: 1,000 pgbench clients through PgBouncer, rendered exactly as the stacks render it.

Prints (and writes to build/bench/pgbouncer.json):
  1. pool efficiency = served / offered transactions at a fixed rate the database sustains
     (pgbench -R; offered = what pgbench scheduled, served = completed within 300 ms of its
     scheduled start); the seed's objective 10 wants > 90 %, our goal is >= 99 %;
  2. p95 latency through the pool vs direct, at the same rate and client count;
  3. server connections observed vs the budget (multiplexing ratio);
  4. saturated TPS through the pool vs the best direct TPS.
PostgreSQL, PgBouncer and pgbench share this machine's cores; the figures say so.

Exit status 1 when served/offered < 0.99 or server connections exceed the budget.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.apps import pgbouncer_config as pool
from components.apps.database_bootstrap_sql import AUTH_QUERY
from realserver.pgbouncer import LocalPgBouncer
from realserver.postgres import LocalPostgres, pg_bin
from realserver.rds import DATABASE, rds_like, rds_root, roles_for, run_bootstrap
from realserver.rotation import LocalSecretsManager

#: A transaction counts as served when it completes within this long of its scheduled start:
#: the seed's API p95 target, which a database call must fit in.
SERVED_WITHIN_MS = 300


def pgbench(args: list[str], port: int, log_dir: Path | None = None) -> dict:
    # As in production: Odoo's current credential (PGUSER, PGPASSWORD: see _measure), which
    # PgBouncer authenticates through the bootstrap's auth_query.
    command = [pg_bin("pgbench"), "-h", "127.0.0.1", "-p", str(port), "-n", *args]
    if log_dir is not None:
        command += ["-l", "--log-prefix", str(log_dir / "tx")]
    result = subprocess.run(command, capture_output=True, text=True, cwd=log_dir or None)
    if result.returncode != 0:
        raise RuntimeError(f"pgbench failed: {result.stderr[-2000:]}")
    out = result.stdout
    processed = int(_field(r"number of transactions actually processed: (\d+)", out))
    # pgbench prints no tps line when nothing completed (1,000 clients still authenticating when
    # the 15 s saturated run ends on a loaded machine): that run measured 0, it did not crash.
    throughput = re.search(r"tps = ([\d.]+)", out)
    tps = float(throughput.group(1)) if throughput else 0.0
    failed = re.search(r"number of failed transactions: (\d+)", out)
    skipped = re.search(r"number of transactions skipped: (\d+)", out)
    late = re.search(r"number of transactions above the [\d.]+ ms latency limit: (\d+)", out)
    return {
        "processed": processed,
        "tps": tps,
        "failed": int(failed.group(1)) if failed else 0,
        "skipped": int(skipped.group(1)) if skipped else 0,
        "late": int(late.group(1)) if late else 0,
    }


def p95_ms(log_dir: Path) -> float:
    latencies = []
    for path in log_dir.glob("tx*"):
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():
                latencies.append(int(fields[2]) / 1000.0)
    return statistics.quantiles(latencies, n=100)[94] if latencies else float("nan")


class ConnectionSampler:
    """Peak server connections of the benchmark user, as PostgreSQL sees them."""

    def __init__(self, pg: LocalPostgres):
        self.pg, self.peak, self._stop = pg, 0, threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self._stop.is_set():
            rows = self.pg.sql(f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{os.environ['PGUSER']}'")
            self.peak = max(self.peak, int(rows[0][0]))
            time.sleep(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def fixed_rate(port: int, clients: int, rate: int, seconds: int, pg: LocalPostgres | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="sd-bench-") as tmp:
        log_dir = Path(tmp)
        os.chmod(log_dir, 0o777)
        sampler = ConnectionSampler(pg) if pg else None
        if sampler:
            sampler.__enter__()
        try:
            result = pgbench(
                [
                    "-c",
                    str(clients),
                    "-j",
                    "4",
                    "-R",
                    str(rate),
                    "-T",
                    str(seconds),
                    "--latency-limit",
                    str(SERVED_WITHIN_MS),
                    "-N",
                    DATABASE,
                ],
                port,
                log_dir,
            )
        finally:
            if sampler:
                sampler.__exit__(None, None, None)
        # pgbench's own schedule: every transaction it scheduled was either run or skipped
        # (already later than the limit when its turn came); served = run within the limit.
        result["offered"] = result["processed"] + result["skipped"]
        result["served"] = result["processed"] - result["late"] - result["failed"]
        result["served_over_offered"] = result["served"] / max(1, result["offered"])
        result["p95_ms"] = p95_ms(log_dir)
        if sampler:
            result["peak_server_connections"] = sampler.peak
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=400, help="offered transactions per second")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--pool-size", type=int, default=20)
    parser.add_argument("--reserve", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("build/bench/pgbouncer.json"))
    args = parser.parse_args(argv)

    settings = _pool_settings(args)
    budget = settings.role.pool_size + settings.role.reserve_pool_size
    report: dict = {
        "cores": os.cpu_count(),
        "clients": args.clients,
        "rate": args.rate,
        "seconds": args.seconds,
        "server_connection_budget": budget,
    }
    report |= _measure(args, settings)
    report["multiplexing_ratio"] = args.clients / max(1, report["pooled_fixed_rate"]["peak_server_connections"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return _print_report(report, budget, args.out)


def _pool_settings(args: argparse.Namespace) -> pool.IniSettings:
    """The rw pool as the platform renders it, sized by the command line."""
    role = pool.PoolRole(
        "rw",
        "transaction",
        False,
        replicas=1,
        pool_size=args.pool_size,
        reserve_pool_size=args.reserve,
        max_client_conn=args.clients + 100,
    )
    return pool.IniSettings(
        role,
        DATABASE,
        ["db.internal"],
        5432,
        AUTH_QUERY,
        "pgbouncer_stats",
        pool.ServerTimeouts(server_idle_timeout_s=300, server_lifetime_s=3600, query_wait_timeout_s=30),
    )


def _measure(args: argparse.Namespace, settings: pool.IniSettings) -> dict:
    """The same offered load through PgBouncer and straight to PostgreSQL, then both saturated."""
    hba = pool.render_hba(DATABASE, ("pgbouncer_auth", "pgbouncer_auth_clone"), settings.stats_user)
    # Direct runs need a backend per client; the pooled runs may use only the pool's budget.
    server_settings = {
        "max_connections": str(args.clients + 100),
        "password_encryption": "scram-sha-256",
        "shared_preload_libraries": "pg_stat_statements",
    }
    report: dict = {}
    with LocalPostgres(server_settings) as pg:
        rds_like(pg)
        bootstrapped = run_bootstrap(pg, roles_for())
        if bootstrapped.returncode != 0:
            raise SystemExit(f"database bootstrap failed: {bootstrapped.stderr}")
        with LocalSecretsManager(pg, roles_for()) as secrets:
            owner, auth = secrets.rotate("owner"), secrets.rotate("auth_user")
        os.environ.update(PGUSER=owner.username, PGPASSWORD=owner.password)
        subprocess.run(
            [pg_bin("pgbench"), "-h", "127.0.0.1", "-p", str(pg.port), "-i", "-s", "10", "-q", DATABASE],
            check=True,
            capture_output=True,
        )
        with LocalPgBouncer(settings, hba, auth.username, auth.password, "127.0.0.1", pg.port, rds_root(pg)) as bouncer:
            report["pooled_fixed_rate"] = fixed_rate(bouncer.port, args.clients, args.rate, args.seconds, pg)
            report["pooled_saturated"] = pgbench(
                ["-c", str(args.clients), "-j", "4", "-T", "15", "-N", DATABASE], bouncer.port
            )
        report["direct_fixed_rate"] = fixed_rate(pg.port, args.clients, args.rate, args.seconds)
        report["direct_saturated_best"] = max(
            (
                pgbench(["-c", str(c), "-j", "2", "-T", "15", "-N", DATABASE], pg.port) | {"clients": c}
                for c in (4, 8, 16)
            ),
            key=lambda r: r["tps"],
        )
    return report


def _print_report(report: dict, budget: int, out: Path) -> int:
    """The figures, and PASS (0) when the pool served what was offered within its budget."""
    pooled, direct = report["pooled_fixed_rate"], report["direct_fixed_rate"]
    print(f"PgBouncer benchmark on {report['cores']} cores (PostgreSQL, PgBouncer and pgbench share them)")
    print(
        f"  clients {report['clients']}, offered {report['rate']} tx/s for {report['seconds']} s (pgbench -N, scale 10)"
    )
    print(
        f"  pool efficiency served/offered: {pooled['served_over_offered']:.4f} "
        f"({pooled['served']}/{pooled['offered']} within {SERVED_WITHIN_MS} ms), failed {pooled['failed']}"
    )
    print(
        f"  p95 latency: pooled {pooled['p95_ms']:.1f} ms vs direct {direct['p95_ms']:.1f} ms "
        f"(direct served/offered {direct['served_over_offered']:.4f})"
    )
    print(
        f"  server connections: peak {pooled['peak_server_connections']} vs budget {budget} "
        f"-> {report['multiplexing_ratio']:.0f} clients per server connection"
    )
    print(
        f"  saturated TPS: pooled {report['pooled_saturated']['tps']:.0f} ({report['clients']} clients) vs best direct "
        f"{report['direct_saturated_best']['tps']:.0f} ({report['direct_saturated_best']['clients']} clients)"
    )
    print(f"  wrote {out}")
    ok = pooled["served_over_offered"] >= 0.99 and pooled["peak_server_connections"] <= budget
    print("  result:", "PASS" if ok else "FAIL (goal: served/offered >= 0.99 and server connections <= budget)")
    return 0 if ok else 1


def _field(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"pgbench output has no {pattern!r}: {text[-500:]}")
    return match.group(1)


if __name__ == "__main__":
    sys.exit(main())
