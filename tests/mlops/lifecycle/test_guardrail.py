"""The guardrail's statistics on constructed per-image results with known answers (no database)."""

from math import comb
from pathlib import Path

import pytest

from mlops.lifecycle.guardrail import (
    NoSharedImages,
    evaluation_set_key,
    image_id,
    is_worse,
    mcnemar_p_value,
    paired_comparison,
)


def results(*, both_right=0, champion_only=0, challenger_only=0, both_wrong=0, prefix="img"):
    """(champion, challenger) per-image correctness maps with the given cell counts."""
    cells = [(True, True)] * both_right + [(True, False)] * champion_only + [(False, True)] * challenger_only
    cells += [(False, False)] * both_wrong
    champion = {f"{prefix}{index}": right for index, (right, _) in enumerate(cells)}
    challenger = {f"{prefix}{index}": right for index, (_, right) in enumerate(cells)}
    return champion, challenger


def exact_two_sided(smaller: int, discordant: int) -> float:
    return min(1.0, 2 * sum(comb(discordant, k) for k in range(smaller + 1)) / 2**discordant)


def test_the_exact_test_on_few_discordant_pairs_is_twice_the_binomial_tail():
    assert mcnemar_p_value(10, 0) == (pytest.approx(2 / 2**10), "exact binomial")
    assert mcnemar_p_value(6, 4)[0] == pytest.approx(exact_two_sided(4, 10))  # 772/1024
    assert mcnemar_p_value(4, 6)[0] == pytest.approx(772 / 1024)


def test_equal_discordant_counts_and_no_discordant_pairs_give_p_one():
    assert mcnemar_p_value(5, 5)[0] == 1.0
    assert mcnemar_p_value(0, 0)[0] == 1.0


def test_many_discordant_pairs_use_the_corrected_chi_square():
    p_value, method = mcnemar_p_value(40, 20)
    assert method == "chi-square with continuity correction"
    # (|40 - 20| - 1)² / 60 = 6.0167; its chi-square(1) tail is 0.01418
    assert p_value == pytest.approx(0.014178, abs=1e-5)


def test_the_comparison_counts_cells_and_accuracies_on_shared_images_only():
    champion, challenger = results(both_right=50, champion_only=12, challenger_only=3, both_wrong=35)
    champion["only-in-champion"] = True
    comparison = paired_comparison(champion=champion, challenger=challenger)
    assert (comparison.images, comparison.champion_only_right, comparison.challenger_only_right) == (100, 12, 3)
    assert comparison.champion_accuracy == pytest.approx(0.62)
    assert comparison.challenger_accuracy == pytest.approx(0.53)
    assert comparison.difference_points == pytest.approx(-9.0)
    assert comparison.p_value == pytest.approx(exact_two_sided(3, 15))


def test_a_significant_loss_beyond_the_tolerance_is_worse():
    champion, challenger = results(both_right=50, champion_only=12, challenger_only=3, both_wrong=35)
    comparison = paired_comparison(champion=champion, challenger=challenger)
    assert comparison.p_value < 0.05
    assert is_worse(comparison, tolerance_points=1.0)
    assert not is_worse(comparison, tolerance_points=10.0)  # 9 points lost, within a 10-point tolerance


def test_a_loss_the_test_cannot_tell_from_chance_is_not_worse():
    champion, challenger = results(both_right=10, champion_only=3, challenger_only=1, both_wrong=6)
    comparison = paired_comparison(champion=champion, challenger=challenger)
    assert comparison.difference_points == pytest.approx(-10.0)
    assert comparison.p_value > 0.05
    assert not is_worse(comparison, tolerance_points=1.0)


def test_a_better_challenger_is_never_worse():
    champion, challenger = results(both_right=50, champion_only=3, challenger_only=30, both_wrong=17)
    assert not is_worse(paired_comparison(champion=champion, challenger=challenger), tolerance_points=0.0)


def test_evaluations_without_a_common_image_cannot_be_compared():
    champion, _ = results(both_right=3, prefix="a")
    _, challenger = results(both_right=3, prefix="b")
    with pytest.raises(NoSharedImages):
        paired_comparison(champion=champion, challenger=challenger)


def test_an_image_id_is_its_path_in_the_folder_and_its_digest_and_the_set_key_ignores_order():
    assert image_id(root=Path("/data/food"), path=Path("/data/food/test/ramen/1.jpg"), sha256="ab12") == "test/ramen/1.jpg#ab12"
    assert evaluation_set_key(["b#2", "a#1"]) == evaluation_set_key(["a#1", "b#2"])
    assert evaluation_set_key(["a#1"]) != evaluation_set_key(["a#1", "b#2"])
