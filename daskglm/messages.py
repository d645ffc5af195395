"""Bounded messages: lists of names in errors stay short however many there are.

An error about 4,000 columns that lists them all runs to hundreds of
kilobytes; :func:`listing` shows how many there are, the first few (each cut
to a readable length) and, when some are left out, where to look for the rest.
"""

from __future__ import annotations

__all__ = ["listing", "shorten"]

#: Items shown before the rest are counted.
SHOWN = 5
#: Characters one item may take in a message.
ITEM_CHARS = 80


def shorten(text, limit=ITEM_CHARS) -> str:
    """``text`` cut to ``limit`` characters, marking the cut with ``...``."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def listing(items, render=repr, limit=SHOWN, hint=None, sep=", ", brackets=True,
            item_chars=ITEM_CHARS) -> str:
    """``items`` as ``[a, b]``, or ``[a, b, c, d, e, ... and 3,995 more]`` when there
    are more than ``limit``, followed by ``hint`` (where to see them all) then.

    Parameters
    ----------
    items : iterable
    render : callable
        Turns one item into text (default ``repr``).
    limit : int
        How many items to show.
    hint : str, optional
        Appended as ``" (hint)"`` when items are left out.
    sep : str
        Between items.
    brackets : bool
        Whether to enclose the items in ``[...]``.
    item_chars : int or None
        Characters one item may take (None: items already bounded, such as
        listings themselves).

    Examples
    --------
    >>> listing(["a", "b"])
    "['a', 'b']"
    >>> listing(range(8), render=str, limit=3, hint="see data.columns")
    '[0, 1, 2, ... and 5 more] (see data.columns)'
    """
    items = list(items)
    shown = [render(item) for item in items[:limit]]
    if item_chars is not None:
        shown = [shorten(text, item_chars) for text in shown]
    if len(items) > limit:
        shown.append(f"... and {len(items) - limit:,} more")
    text = sep.join(shown)
    text = f"[{text}]" if brackets else text
    return f"{text} ({hint})" if hint and len(items) > limit else text
