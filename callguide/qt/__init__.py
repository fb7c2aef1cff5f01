"""The Qt user interface: the ONLY package that imports PySide6.

Importing it also guards against a PySide6 defect seen with PySide6 6.12 on CPython 3.11:
every call of a Qt method that returns nothing takes one reference from `None`
without having given it, so after a few thousand clicks the interpreter aborts with
"Fatal Python error: none_dealloc". CPython 3.12+ makes `None` immortal, where it is
harmless. When a probe shows the defect, `None`'s reference count is raised once by
2**40 (more void calls than a window makes in years); nothing else is touched.
"""

from __future__ import annotations

import sys


def _guard_none_refcount() -> bool:
    """Return True when the defect was found and the guard applied."""
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(8):
        probe.setObjectName("probe")  # a void method
    lost = before - sys.getrefcount(None)
    if lost < 8:
        return False
    import ctypes

    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40
    return True


NONE_REFCOUNT_GUARD = _guard_none_refcount()
