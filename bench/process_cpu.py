"""CPU seconds spent by the processes this one started (by group) and by the PostgreSQL backends of given databases.

Read from /proc (Linux), so that a benchmark can say where the CPU of one request goes across a whole stack:

    before = stack_cpu(databases=("nl_stack_app",))
    ...  # the load
    spent = cpu_spent(before, stack_cpu(databases=("nl_stack_app",)))   # {"web workers": 1.9, "PostgreSQL": 0.1, ...} s

A process belongs to the first group whose words its command line contains, else to its parent's group. A process that
started between two readings counts from zero; the time of one that ended between them is not counted (a PostgreSQL
backend of a connection Django recycled, say).
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
# Group -> words of the command line, tried in this order.
GROUPS = {
    "web workers": ("nutrilearn.wsgi",),
    "Celery": ("celery",),
    "MLflow server": ("mlflow",),
    "Redis": ("redis-server",),
}


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command line, CPU seconds) of every process readable now."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()
        found[int(entry.name)] = (int(fields[1]), command, (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND)
    return found


def _group(pid: int, processes: dict, root: int) -> str | None:
    """The group of a descendant of ``root`` (its own command line, else its parent's group); None for other processes."""
    chain = []
    if pid == root:
        return None
    while pid in processes and pid != root:
        chain.append(pid)
        pid = processes[pid][0]
    if pid != root:
        return None
    for member in chain:  # the process itself first, then its ancestors
        command = processes[member][1]
        for group, words in GROUPS.items():
            if any(word in command for word in words):
                return group
    return "other"


def stack_cpu(*, databases: tuple[str, ...] = ()) -> dict[int, tuple[str, float]]:
    """pid -> (group, CPU seconds so far) of this process's descendants and of PostgreSQL backends serving ``databases``."""
    processes, root, reading = _processes(), os.getpid(), {}
    for pid, (_parent, command, seconds) in processes.items():
        if command.startswith("postgres: ") and any(f" {name} " in command for name in databases):
            group = "PostgreSQL"
        else:
            group = _group(pid, processes, root)
        if group is not None:
            reading[pid] = (group, seconds)
    return reading


def cpu_spent(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds per group between two readings: what each process still there spent since the first one."""
    spent: dict[str, float] = {}
    for pid, (group, seconds) in after.items():
        earlier = before.get(pid)
        spent[group] = spent.get(group, 0.0) + seconds - (earlier[1] if earlier and earlier[0] == group else 0.0)
    return spent
