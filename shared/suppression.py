"""Small groups stay hidden, also by subtraction (survey results in feedback and in reports)."""
from __future__ import annotations


def complementary_suppression(members: list[tuple]) -> set:
    """The groups of one breakdown to hide, given ``(group, n, suppressed)`` for each.

    The breakdown's groups add up to the overall figure, which is shown: a lone small group hidden
    beside shown ones could be derived by subtraction (overall 7, students 5 → the hidden group is
    2, and its mean is exact). So when exactly one group is hidden, the smallest shown group is
    hidden too (ties: the first by name); two or more hidden groups only reveal their sum.
    """
    hidden = {group for group, _n, suppressed in members if suppressed}
    shown = sorted(((n, "" if group is None else str(group), group) for group, n, suppressed in members
                    if not suppressed), key=lambda m: (m[0], m[1]))
    if len(hidden) == 1 and shown:
        hidden.add(shown[0][2])
    return hidden
