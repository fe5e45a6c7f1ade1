"""Small grammar for messages: a count with its noun in the right number, a noun's article,
a list of choices. One place, so that no message reads '1 GPUs' or 'a aws region'."""

from __future__ import annotations

from collections.abc import Sequence


def sig4(v: float) -> str:
    """A number at 4 significant digits, never in exponent form from 10,000 up (10650, not
    1.065e+04: observe's demand table and diff's lists printed that, UX trial 32 F4)."""
    return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.0f}"


def counted(n: int, noun: str, nouns: str | None = None) -> str:
    """``n`` (thousands separated) and ``noun``, plural (``nouns``, else ``noun`` + 's')
    unless ``n`` is 1: '1 GPU', '2 GPUs', '1,324 replicas'."""
    return f"{n:,} {noun if n == 1 else nouns or noun + 's'}"


def article(word: str) -> str:
    """``word`` with 'a' or 'an' by how it is said: its first vowel, or an acronym's first
    letter ('an aws', 'a gcp', 'an H100', 'a T4', 'an SLO')."""
    acronym = word[:1].isupper() and (word[1:2].isupper() or word[1:2].isdigit())
    vowel = word[:1] in "FHLMNRSX" if acronym else word[:1].lower() in "aeio"
    return f"{'an' if vowel or word[:1] in 'AEIO' else 'a'} {word}"


def or_list(items: Sequence[object]) -> str:
    """``items`` (at least one) as choices: '2', '2 or 4', '2, 4 or 8'."""
    words = [str(x) for x in items]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
