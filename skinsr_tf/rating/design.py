"""Which method pair each image is judged on: the report's design and the exhaustive one."""

import itertools
import random

DESIGNS = ("groups", "all-pairs")


def method_pairs(methods):
    """All unordered pairs of method names, in the order the names are given."""
    return list(itertools.combinations(methods, 2))


def make_design(images, methods, design="groups", seed=0):
    """Return the comparisons as a list of ``(image, method_a, method_b)``.

    ``groups`` (the report): the images are shuffled with ``seed`` and split evenly among all
    method pairs (group sizes differ by at most one), each image judged once. ``all-pairs``: every
    pair on every image. The result depends only on the sets of names and ``seed``.
    """
    images = sorted(images)
    methods = sorted(methods)
    if len(set(images)) != len(images):
        raise ValueError("duplicate image names in the design input")
    if len(set(methods)) != len(methods) or len(methods) < 2:
        raise ValueError(f"need at least two distinct methods, got {methods}")
    pairs = method_pairs(methods)
    if design == "all-pairs":
        return [(img, a, b) for img in images for a, b in pairs]
    if design != "groups":
        raise ValueError(f"unknown design {design!r}; choose one of {DESIGNS}")
    rng = random.Random(seed)
    shuffled = list(images)
    rng.shuffle(shuffled)
    pair_order = list(pairs)
    rng.shuffle(pair_order)  # which pairs get the extra image when the split is uneven
    comparisons = [(img, *pair_order[i % len(pair_order)]) for i, img in enumerate(shuffled)]
    return sorted(comparisons)


def balanced_sides(comparisons, rng):
    """``{comparison id: swapped (0/1)}`` for one rater, from ``(id, method_a, method_b)`` rows.

    Within each method pair, ``method_a`` is on the left in half of the comparisons (an odd
    count gives one side one more, alternating between pairs so that the rater's total stays
    balanced too), so no method gains from a position bias; which ones are swapped is drawn
    from ``rng``, so each rater gets a layout of their own.
    """
    by_pair = {}
    for cid, a, b in comparisons:
        by_pair.setdefault((a, b), []).append(cid)
    swapped, k = {}, rng.randrange(2)
    for cids in by_pair.values():
        rng.shuffle(cids)
        for cid in cids:
            swapped[cid] = k % 2
            k += 1
    return swapped
