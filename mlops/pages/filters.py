"""The filters every page keeps in its URL: a date range (``days`` back from now, or ``start``/``end`` days) and a model version."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from django.utils import timezone

DAY_CHOICES = (1, 7, 30, 90)
DEFAULT_DAYS = 7
MAX_DAYS = 366
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,50}$")


class FilterInvalid(ValueError):
    """A filter in the URL cannot be used; the message says which and why, for a person."""


@dataclass(frozen=True)
class PageFilters:
    """The window [start, end) and version every figure of a page covers, and the URL parameters that chose them."""

    start: datetime
    end: datetime
    model_version: str | None
    days: int | None  # set when the window is "the last N days"
    start_day: date | None  # set when the window was given as days (end day inclusive)
    end_day: date | None

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def previous_start(self) -> datetime:
        """Start of the period of the same length just before this one (for changes against the previous period)."""
        return self.start - self.length

    def window(self) -> dict:
        return {"start": self.start, "end": self.end, "model_version": self.model_version}

    def previous_window(self) -> dict:
        return {"start": self.previous_start, "end": self.start, "model_version": self.model_version}

    def params(self) -> dict[str, str]:
        """The URL parameters that reproduce these filters (what shareable links carry)."""
        params = {}
        if self.days is not None:
            params["days"] = str(self.days)
        else:
            params["start"] = self.start_day.isoformat()
            params["end"] = self.end_day.isoformat()
        if self.model_version:
            params["model_version"] = self.model_version
        return params

    def query(self, **extra) -> str:
        """``params()`` plus ``extra`` (None values dropped) as a query string."""
        merged = {**self.params(), **{key: value for key, value in extra.items() if value not in (None, "")}}
        return urlencode(merged)

    def describe(self) -> str:
        if self.days is not None:
            span = "the last day" if self.days == 1 else f"the last {self.days} days"
        else:
            span = f"{self.start_day:%d %b %Y} to {self.end_day:%d %b %Y}"
        return span + (f", model version {self.model_version}" if self.model_version else ", all model versions")


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterInvalid(f"{name} must be a date like 2026-11-28, not {value!r}.") from None


def filters_parse(params, *, now: datetime | None = None) -> PageFilters:
    """PageFilters from a query dict; FilterInvalid with a readable message for a bad value."""
    now = now or timezone.now()
    version = (params.get("model_version") or "").strip() or None
    if version is not None and not VERSION_PATTERN.match(version):
        raise FilterInvalid("model_version may hold only letters, digits, '.', '_' and '-' (at most 50).")
    start_text, end_text = (params.get("start") or "").strip(), (params.get("end") or "").strip()
    if start_text or end_text:
        if not (start_text and end_text):
            raise FilterInvalid("Give both start and end (first and last day), or neither.")
        start_day, end_day = _day(start_text, "start"), _day(end_text, "end")
        if end_day < start_day:
            raise FilterInvalid(f"The end day ({end_day}) is before the start day ({start_day}).")
        if (end_day - start_day).days + 1 > MAX_DAYS:
            raise FilterInvalid(f"A window covers at most {MAX_DAYS} days.")
        start = datetime.combine(start_day, time.min, tzinfo=UTC)
        end = min(datetime.combine(end_day + timedelta(days=1), time.min, tzinfo=UTC), max(now, start + timedelta(seconds=1)))
        return PageFilters(start=start, end=end, model_version=version, days=None, start_day=start_day, end_day=end_day)
    days_text = (params.get("days") or "").strip()
    try:
        days = int(days_text) if days_text else DEFAULT_DAYS
    except ValueError:
        raise FilterInvalid(f"days must be a whole number of days, not {days_text!r}.") from None
    if not 1 <= days <= MAX_DAYS:
        raise FilterInvalid(f"days must be between 1 and {MAX_DAYS}.")
    return PageFilters(start=now - timedelta(days=days), end=now, model_version=version, days=days, start_day=None, end_day=None)
