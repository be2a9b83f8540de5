"""The page filters: a window and a version from the URL, reproduced in links, refused with a reason when wrong."""

from datetime import UTC, datetime

import pytest

from mlops.pages.filters import FilterInvalid, filters_parse

NOW = datetime(2026, 11, 28, 15, 30, tzinfo=UTC)


def test_without_parameters_the_window_is_the_last_seven_days_of_every_version():
    filters = filters_parse({}, now=NOW)

    assert (filters.start, filters.end, filters.model_version) == (datetime(2026, 11, 21, 15, 30, tzinfo=UTC), NOW, None)
    assert filters.previous_window()["end"] == filters.start
    assert filters.params() == {"days": "7"}


def test_a_day_range_covers_whole_utc_days_up_to_now():
    filters = filters_parse({"start": "2026-11-01", "end": "2026-11-28", "model_version": "2"}, now=NOW)

    assert filters.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert filters.end == NOW  # the last day is not over yet
    assert filters.query(food="pizza", band="") == "start=2026-11-01&end=2026-11-28&model_version=2&food=pizza"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"days": "week"}, "days must be a whole number"),
        ({"days": "0"}, "between 1 and 366"),
        ({"start": "2026-11-01"}, "Give both start and end"),
        ({"start": "1 Nov", "end": "2026-11-02"}, "start must be a date like"),
        ({"start": "2026-11-05", "end": "2026-11-02"}, "is before the start day"),
        ({"model_version": "2; drop"}, "model_version may hold only"),
    ],
)
def test_a_bad_filter_is_refused_with_what_is_wrong(params, message):
    with pytest.raises(FilterInvalid, match=message):
        filters_parse(params, now=NOW)


def test_a_bad_filter_is_a_400_page_that_says_why(staff_client):
    response = staff_client.get("/mlops/", {"days": "week"})

    assert response.status_code == 400
    assert "days must be a whole number of days, not &#x27;week&#x27;." in response.content.decode()
