"""`Echo`: where hpsearch says a line (print, run.log, the live view's area above its status).

Every function that tells a person something takes one, so the same code prints, logs or stays
quiet as its caller decides.
"""

from __future__ import annotations

from collections.abc import Callable

Echo = Callable[[str], None]

__all__ = ["Echo"]
