"""The one definition of "solved" that the TTRL stage and the report share."""

from __future__ import annotations

DEFINITION = ("a problem counts as solved by a model when its greedy (temperature 0) answer is verified "
              "correct; when greedy decoding was off, when at least half of its samples are correct.")


def is_solved(greedy_correct: bool | None, n: int, n_correct: int) -> bool:
    """``DEFINITION``: greedy when it ran, else a majority of the samples."""
    if greedy_correct is not None:
        return bool(greedy_correct)
    return n > 0 and 2 * n_correct >= n
