"""The time budget of training: how many views and epochs it lets a run do, on a clock the test moves."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mlops.training import TimeBudget

from .shapes import write_shapes_dataset


class Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_budget_stops_after_the_epoch_that_overran_when_the_machine_gets_busier():
    clock = Clock()
    budget = TimeBudget(100, cache_share=0.5, clock=clock)
    clock.now = 40  # caching, then a first epoch of 10 s
    assert budget.epochs_that_fit(done=1, planned=10, slowest_epoch=10) == 7

    clock.now = 85  # the second epoch took 45 s: another would end past the budget
    assert budget.epochs_that_fit(done=2, planned=7, slowest_epoch=45) == 2


def test_the_budget_never_plans_more_epochs_than_asked_nor_fewer_than_done():
    clock = Clock()
    budget = TimeBudget(1000, cache_share=0.5, clock=clock)
    clock.now = 10
    assert budget.epochs_that_fit(done=1, planned=5, slowest_epoch=1) == 5

    clock.now = 2000
    assert budget.epochs_that_fit(done=3, planned=5, slowest_epoch=1) == 3


def test_the_caching_pass_takes_another_view_only_if_it_fits_its_share_of_the_budget():
    clock = Clock()
    budget = TimeBudget(100, cache_share=0.6, clock=clock)
    clock.now = 30

    assert budget.view_fits(30) is True  # ends at 60 of the 60 s share
    assert budget.view_fits(31) is False


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--ema-decay", "1.5", "decay must be at least 0 and below 1"), ("--workers", "-1", "workers must be 0 or more")],
)
def test_train_refuses_nonsense_options_with_a_message(tmp_path, option, value, message):
    with pytest.raises(CommandError, match=message):
        call_command("train", str(write_shapes_dataset(tmp_path / "shapes", per_class=2, size=32)), option, value, stdout=io.StringIO())
