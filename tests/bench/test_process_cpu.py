"""Where a stack's CPU goes: this process's descendants by group, and the PostgreSQL backends of a database."""

import os
import signal
import subprocess
import sys
import time

import psycopg

from bench.families.throughput import cpu_note
from bench.process_cpu import cpu_spent, stack_cpu
from tests.support.stack import Database

BURN = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"
# The grandchild burns 0.3 s of CPU, says so and stays; the child waits for that, burns 0.3 s itself, says so and stays.
GRANDCHILD = BURN + "print('burnt', flush=True)\ntime.sleep(60)\n"
CHILD = (
    "import subprocess, sys, time\n"
    f"grandchild = subprocess.Popen([sys.executable, '-c', {GRANDCHILD!r}], stdout=subprocess.PIPE, text=True)\n"
    "grandchild.stdout.readline()\n" + BURN + "print('burnt', flush=True)\ntime.sleep(60)\n"
)


def test_a_child_and_its_own_child_count_in_the_childs_group():
    # The word "celery" in the child's command line puts it, and the grandchild it starts, in the Celery group.
    before = stack_cpu()
    process = subprocess.Popen([sys.executable, "-c", CHILD, "celery"], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert process.stdout.readline().strip() == "burnt"
        spent = cpu_spent(before, stack_cpu())
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    assert spent.get("Celery", 0.0) >= 0.55
    assert spent.get("other", 0.0) < 0.2


def test_the_backends_of_a_database_are_counted_and_no_others():
    database = Database("nl_cpu").create()
    try:
        with psycopg.connect(database.url, autocommit=True) as backend:
            before = stack_cpu(databases=(database.name,))
            backend.execute("SELECT sum(i::bigint * i) FROM generate_series(1, 3000000) AS i").fetchone()
            after = stack_cpu(databases=(database.name,))
            unrelated = stack_cpu(databases=("no_such_database",))
    finally:
        database.drop()

    assert cpu_spent(before, after)["PostgreSQL"] > 0.05
    assert "PostgreSQL" not in {group for group, _seconds in unrelated.values()}


def test_the_note_gives_the_groups_and_the_ratio_cpu_time_allows():
    note = cpu_note([0.030, 0.032], [{"web workers": 0.050, "PostgreSQL": 0.004, "clients": 0.001}] * 2)

    assert note.startswith("CPU ms per upload: web workers 50.0, PostgreSQL 4.0, clients 1.0 (total 55.0)")
    assert note.endswith("against 31.0 per bare forward pass; CPU time alone allows 0.56×")


def test_this_process_is_not_counted():
    end = time.process_time() + 0.2
    before = stack_cpu()
    while time.process_time() < end:
        pass
    assert sum(cpu_spent(before, stack_cpu()).values()) < 0.1
