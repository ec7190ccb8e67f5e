"""A database URL as messages show it: with its password masked."""

from __future__ import annotations

import re


def masked(url: str) -> str:
    """The URL with its password masked, for messages and logs (a URL too malformed to parse
    is masked by hand: user:password@ becomes user:***@)."""
    import sqlalchemy  # 0.2 s to import: paid only where a URL is shown

    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except (sqlalchemy.exc.ArgumentError, ValueError):
        return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", url)


__all__ = ["masked"]
