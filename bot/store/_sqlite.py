"""sqlite-utils without numpy and pandas.

sqlite-utils imports numpy and pandas when they are installed (matplotlib installs numpy) only to
map their scalar types to column types; exchbot never stores such values, and numpy costs about
90 ms of every command's start-up. So sqlite-utils is imported only through this module (by
``bot.store.connection.as_database`` and the backup code, on first use), with both hidden for that one import;
whoever needs numpy later (matplotlib for the charts) imports it as usual.
"""

from __future__ import annotations

import sys

_HIDDEN = ("numpy", "pandas")
_hidden = [name for name in _HIDDEN if name not in sys.modules and "sqlite_utils" not in sys.modules]
for _name in _hidden:
    sys.modules[_name] = None  # type: ignore[assignment]  # makes "import numpy" raise ImportError
try:
    import sqlite_utils
finally:
    for _name in _hidden:
        if sys.modules.get(_name, 0) is None:
            del sys.modules[_name]

__all__ = ["sqlite_utils"]
