"""Locating the answer in a completion: the ``<ANSWER>...</ANSWER>`` convention.

``has_answer_format`` is the exact check behind the format reward, so that the reward
and the verifier agree on what counts as "an answer was given".
"""

from __future__ import annotations

_OPEN = "<answer>"
_CLOSE = "</answer>"


def extract_answer(completion: str) -> str | None:
    """Content of the last closed ``<ANSWER>...</ANSWER>`` block (tags case-insensitive), stripped.

    "Last" means the last opening tag that has a closing tag after it, up to the first
    closing tag that follows: a stray earlier ``<ANSWER>`` cannot swallow the final
    answer, and a trailing unclosed ``<ANSWER>`` does not hide an earlier closed one.
    ``None`` if there is no closed block.
    """
    if not isinstance(completion, str):
        return None
    lowered = completion.lower()
    close = lowered.rfind(_CLOSE)
    if close < 0:
        return None
    open_ = lowered.rfind(_OPEN, 0, close)
    if open_ < 0:
        return None
    close = lowered.find(_CLOSE, open_)
    return completion[open_ + len(_OPEN) : close].strip()


def has_answer_format(completion: str) -> bool:
    """True when the completion holds a closed ``<ANSWER>`` block with non-empty content."""
    answer = extract_answer(completion)
    return bool(answer)
