"""Sticky assignment: a pure function of the experiment and the stable id, with the configured share."""

import pytest

from mlops.experiments.assignment import CHALLENGER, CHAMPION, arm_for, stable_id, unit_interval

IDS = [f"session:{number:05d}" for number in range(10_000)]


def test_the_same_id_gets_the_same_arm_every_time():
    first = [arm_for(experiment_id=7, unit=unit, challenger_share=0.3) for unit in IDS[:500]]
    again = [arm_for(experiment_id=7, unit=unit, challenger_share=0.3) for unit in IDS[:500]]
    assert first == again


def test_a_signed_in_user_is_assigned_by_account_not_by_session():
    assert stable_id(user_id=42, session_key="abc") == stable_id(user_id=42, session_key="other") == "user:42"
    assert stable_id(user_id=None, session_key="abc") == "session:abc"
    assert stable_id(user_id=None, session_key="") == ""


@pytest.mark.parametrize("share", [0.1, 0.5])
def test_the_configured_share_goes_to_the_challenger_within_four_standard_errors(share):
    challengers = sum(arm_for(experiment_id=3, unit=unit, challenger_share=share) == CHALLENGER for unit in IDS)
    spread = 4 * (len(IDS) * share * (1 - share)) ** 0.5  # binomial standard deviation: 30 ids at 10 %
    assert abs(challengers - share * len(IDS)) < spread


def test_a_smaller_share_keeps_its_challengers_inside_a_larger_share():
    """Raising the share of a running test only moves champions over; nobody already on the challenger is sent back."""
    small = {unit for unit in IDS if arm_for(experiment_id=5, unit=unit, challenger_share=0.1) == CHALLENGER}
    large = {unit for unit in IDS if arm_for(experiment_id=5, unit=unit, challenger_share=0.2) == CHALLENGER}
    assert small < large


def test_a_new_experiment_reshuffles_the_arms_independently():
    """Unlike user_id % 2, the same users are not the challengers of every test: the overlap is what chance gives."""
    first = {unit for unit in IDS if arm_for(experiment_id=1, unit=unit, challenger_share=0.5) == CHALLENGER}
    second = {unit for unit in IDS if arm_for(experiment_id=2, unit=unit, challenger_share=0.5) == CHALLENGER}
    expected_overlap = len(IDS) * 0.25
    assert abs(len(first & second) - expected_overlap) < 4 * (len(IDS) * 0.25 * 0.75) ** 0.5


def test_the_hash_is_spread_evenly_over_the_unit_interval():
    values = [unit_interval(experiment_id=9, unit=unit) for unit in IDS]
    deciles = [sum(tenth / 10 <= value < (tenth + 1) / 10 for value in values) for tenth in range(10)]
    assert all(0 <= value < 1 for value in values)
    assert max(deciles) - min(deciles) < 8 * 30  # each decile holds 1,000 +- 30 (one standard deviation)


@pytest.mark.parametrize("share", [0.0, 1.0, -0.1, 1.5])
def test_a_share_of_nothing_or_everything_is_refused(share):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        arm_for(experiment_id=1, unit="user:1", challenger_share=share)


def test_the_champion_is_the_default_arm():
    assert arm_for(experiment_id=1, unit="user:1", challenger_share=1e-12) == CHAMPION
