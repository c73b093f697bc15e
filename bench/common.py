"""Helpers the benchmark scripts share: the machine line, throwaway databases, RESULTS.md."""

import os
import platform
import re
import statistics
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    url = os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    if not urlsplit(url).scheme.startswith("postgres"):
        raise SystemExit("DATABASE_URL must name a PostgreSQL server, e.g. " + DEFAULT_SERVER)
    return url


def database_url(server: str, name: str) -> str:
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


def recreate_database(server: str, name: str, *, drop_only: bool = False) -> str:
    """Drop (and unless drop_only, create) database `name` on `server`; return its URL."""
    import psycopg

    with psycopg.connect(database_url(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(server, name)


def django_on_fresh_database(server: str, name: str) -> None:
    """Point Django at a new, migrated database `name` on `server` and set it up (in-process
    benchmarks; drop it with `recreate_database(server, name, drop_only=True)`)."""
    os.environ["DATABASE_URL"] = recreate_database(server, name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    try:
        pg = subprocess.run(
            ["psql", server_url(), "-tAc", "SHOW server_version"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pg = "?"
    return (
        f"{os.cpu_count()} CPUs ({model}), {mem_kb / 1024 / 1024:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}, PostgreSQL {pg}, "
        f"Python {platform.python_version()}; load average {load()}"
    )


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q * 100) - 1]


def spread(values: list[float], fmt: str = "{:.0f}") -> str:
    """'median (min-max)' of several runs."""
    if not values:
        return "n/a"
    med = statistics.median(values)
    return f"{fmt.format(med)} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def write_section(section: str, body: str) -> None:
    """Replace (or append) `## section` in bench/RESULTS.md."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    block = f"## {section}\n\n{body.strip()}\n\n"
    pattern = re.compile(rf"^## {re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = (
        pattern.sub(lambda _: block, text)
        if pattern.search(text)
        else f"{text.rstrip()}\n\n{block}"
    )
    RESULTS.write_text(text.rstrip() + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------- processes (/proc)
def process_cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each of `pids` that is still running."""
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process: the backends and the WAL writer, checkpointer..."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().split(" (", 1)[1].startswith("postgres"):
                pids.append(int(stat.parent.name))
        except (OSError, IndexError):
            continue
    return pids


def cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two snapshots, counting processes that started in between whole."""
    return sum(used - before.get(pid, 0.0) for pid, used in after.items())


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += tree(int(child))
    return found


def memory_mib(pids: list[int]) -> tuple[float, float]:
    """(RSS, PSS) in MiB summed over `pids` (PSS splits shared pages among their users)."""
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024
