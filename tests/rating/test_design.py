from collections import Counter

import pytest

from skinsr_tf.rating.design import balanced_sides, make_design, method_pairs


def test_groups_split_evenly_among_pairs():
    images = [f"im{i:03d}" for i in range(570)]
    methods = ["edge", "spsr", "unet", "bicubic"]
    comps = make_design(images, methods, "groups", seed=3)
    assert len(comps) == 570
    assert sorted(c[0] for c in comps) == sorted(images)  # each image judged exactly once
    sizes = Counter((a, b) for _, a, b in comps)
    assert set(sizes) == set(method_pairs(sorted(methods)))
    assert set(sizes.values()) == {95}  # 570 / 6 pairs


def test_groups_uneven_counts_differ_by_at_most_one():
    comps = make_design([f"x{i}" for i in range(23)], ["a", "b", "c", "d"], "groups", seed=1)
    sizes = Counter((a, b) for _, a, b in comps).values()
    assert len(sizes) == 6 and max(sizes) - min(sizes) <= 1 and sum(sizes) == 23


def test_groups_deterministic_by_seed_and_independent_of_input_order():
    images = [f"im{i}" for i in range(40)]
    first = make_design(images, ["a", "b", "c"], "groups", seed=7)
    again = make_design(list(reversed(images)), ["c", "a", "b"], "groups", seed=7)
    other = make_design(images, ["a", "b", "c"], "groups", seed=8)
    assert first == again
    assert first != other


def test_all_pairs_counts():
    comps = make_design(["p", "q", "r", "s", "t"], ["a", "b", "c", "d"], "all-pairs")
    assert len(comps) == 5 * 6
    assert len(set(comps)) == len(comps)
    assert Counter(img for img, _, _ in comps) == {k: 6 for k in "pqrst"}


def test_bad_design_inputs():
    with pytest.raises(ValueError, match="unknown design"):
        make_design(["a"], ["m", "n"], "triplets")
    with pytest.raises(ValueError, match="two distinct methods"):
        make_design(["a"], ["m"], "groups")


def test_balanced_sides_odd_pair_counts_keep_the_rater_total_balanced():
    import random

    rows = [(i, "a", "b") for i in range(3)] + [(i, "a", "c") for i in range(3, 6)] + [(6, "b", "c"), (7, "b", "c")]
    for seed in range(20):
        swapped = balanced_sides(rows, random.Random(seed))
        assert sorted(swapped) == list(range(8)) and sum(swapped.values()) == 4
        assert {sum(swapped[i] for i in range(3)), sum(swapped[i] for i in range(3, 6))} == {1, 2}
        assert swapped[6] + swapped[7] == 1
