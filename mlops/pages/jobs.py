"""The Jobs page: background jobs (mirror batches, rollups, drift reports, alert checks) in the window, failed ones first."""

from __future__ import annotations

from django.db.models import Case, Count, IntegerField, Value, When

from ..models import JobRun
from .filters import FilterInvalid, PageFilters

LIMIT = 200


def _duration(job: JobRun) -> str:
    if job.finished_at is None:
        return "running" if job.status == JobRun.Status.RUNNING else "—"
    seconds = (job.finished_at - job.started_at).total_seconds()
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def jobs_context(filters: PageFilters, *, name: str | None, status: str | None) -> dict:
    """Up to LIMIT jobs started in the window: failed first, then running, then succeeded, newest first within each."""
    statuses = {choice.value for choice in JobRun.Status}
    if status and status not in statuses:
        raise FilterInvalid(f"status must be one of {', '.join(sorted(statuses))}, not {status!r}.")
    jobs = JobRun.objects.filter(started_at__gte=filters.start, started_at__lt=filters.end)
    names = sorted(jobs.order_by().values_list("name", flat=True).distinct())
    if name:
        jobs = jobs.filter(name=name)
    if status:
        jobs = jobs.filter(status=status)
    totals = {choice: 0 for choice in sorted(statuses)}
    totals.update(jobs.order_by().values_list("status").annotate(count=Count("id")).values_list("status", "count"))
    failed_first = Case(
        When(status=JobRun.Status.FAILED, then=Value(0)),
        When(status=JobRun.Status.RUNNING, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    rows = list(jobs.annotate(rank=failed_first).order_by("rank", "-started_at").defer("traceback")[:LIMIT])
    for job in rows:
        job.duration_text = _duration(job)
    return {"jobs": rows, "names": names, "name": name or "", "status": status or "", "totals": totals, "limit": LIMIT}
