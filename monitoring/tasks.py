"""django-q2 entry points (dotted names are stable: the schedule refers to them)."""

from monitoring import probes


def heartbeat() -> str:
    return f"beat at {probes.record_heartbeat():%H:%M:%S}"
