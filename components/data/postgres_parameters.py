"""The RDS PostgreSQL parameter group, as a pure function of typed tuning.

Tests load exactly these settings (minus the `rds.` ones) into a throwaway local PostgreSQL and
read them back, so a misspelled name or a bad value fails at test time, not at `pulumi up`.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The seed's audit (Day 281) reads pg_stat_statements; setting shared_preload_libraries
#: replaces RDS's default list, so the library must be named explicitly or it disappears.
REQUIRED_PRELOAD = "pg_stat_statements"

#: Parameters PostgreSQL reads only at start: RDS rejects apply_method "immediate" for them.
STATIC_PARAMETERS = frozenset(
    {"shared_preload_libraries", "max_connections", "pg_stat_statements.max", "track_activity_query_size"}
)


@dataclass(frozen=True)
class PostgresTuning:
    #: Explicit, because PgBouncer's pools are sized against it (the RDS default is a formula of
    #: instance memory, which changes silently with the instance class).
    max_connections: int
    #: Statements slower than this are logged with their plan (auto_explain). The seed's target
    #: is an average under 50 ms.
    slow_query_ms: int
    idle_in_transaction_timeout_ms: int
    work_mem_kb: int
    maintenance_work_mem_kb: int
    #: gp3 SSD: random reads cost almost what sequential ones do.
    random_page_cost: float = 1.1
    effective_io_concurrency: int = 200
    statements_tracked: int = 10000


def parameter_group_family(engine_version: str) -> str:
    return f"postgres{engine_version.split('.')[0]}"


def postgres_parameters(tuning: PostgresTuning) -> dict[str, str]:
    return {
        "shared_preload_libraries": f"{REQUIRED_PRELOAD},auto_explain",
        "max_connections": str(tuning.max_connections),
        "pg_stat_statements.track": "all",
        "pg_stat_statements.max": str(tuning.statements_tracked),
        "track_io_timing": "1",
        "track_activity_query_size": "4096",
        "log_min_duration_statement": str(tuning.slow_query_ms),
        "auto_explain.log_min_duration": str(tuning.slow_query_ms),
        "log_lock_waits": "1",
        "log_temp_files": "10240",
        "log_autovacuum_min_duration": "10000",
        "idle_in_transaction_session_timeout": str(tuning.idle_in_transaction_timeout_ms),
        "random_page_cost": f"{tuning.random_page_cost:g}",
        "effective_io_concurrency": str(tuning.effective_io_concurrency),
        "work_mem": str(tuning.work_mem_kb),
        "maintenance_work_mem": str(tuning.maintenance_work_mem_kb),
        "rds.force_ssl": "1",
    }


def apply_method(parameter: str) -> str:
    return "pending-reboot" if parameter in STATIC_PARAMETERS else "immediate"


def engine_settings(parameters: dict[str, str]) -> dict[str, str]:
    """The settings a stock PostgreSQL understands (RDS-only `rds.*` ones removed)."""
    return {name: value for name, value in parameters.items() if not name.startswith("rds.")}


def preload_problems(parameters: dict[str, str]) -> list[str]:
    libraries = [lib.strip() for lib in parameters.get("shared_preload_libraries", "").split(",")]
    if REQUIRED_PRELOAD not in libraries:
        return [f"shared_preload_libraries must keep {REQUIRED_PRELOAD} (the audit queries read it)"]
    return []
