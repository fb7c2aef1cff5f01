"""Before the first window: can Qt's display plugin load here? If not, one plain line.

On a fresh Debian/Ubuntu desktop Qt's xcb platform plugin needs a few system libraries
(libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, ...) that are not always installed. Qt then
aborts with a generic "could not load the Qt platform plugin" and a core dump. This module
asks the plugin itself first: it loads `libqxcb.so` the way Qt would (from
`QT_QPA_PLATFORM_PLUGIN_PATH` or PySide6's own plugins) and, when that fails, lists every
missing library (`ldd`) with the Debian/Ubuntu package that provides it. It never imports
Qt's GUI; it only runs when the xcb platform will be used.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

# library -> Debian/Ubuntu package (the README lists the same packages)
PACKAGES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s*=>\s*not found", re.MULTILINE)
_DLERROR = re.compile(r"(\S+\.so[\w.]*): cannot open shared object file")


def plugin_dirs() -> list[Path]:
    """Where Qt looks for its platform plugins: QT_QPA_PLATFORM_PLUGIN_PATH first, then PySide6's."""
    out: list[Path] = []
    env = os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH")
    if env:
        out += [Path(p) for p in env.split(os.pathsep) if p]
    spec = importlib.util.find_spec("PySide6")
    if spec is not None and spec.origin:
        out.append(Path(spec.origin).parent / "Qt" / "plugins" / "platforms")
    return out


def missing_from_ldd(text: str) -> list[str]:
    """The libraries `ldd` reports as not found, in order, once each."""
    seen: dict[str, None] = {}
    for m in _NOT_FOUND.finditer(text):
        seen.setdefault(m.group(1), None)
    return list(seen)


def missing_libraries(plugin: Path) -> list[str]:
    """[] when the plugin loads; else the libraries it cannot find (all of them when `ldd` is there)."""
    try:
        ctypes.CDLL(str(plugin))
        return []
    except OSError as e:
        first = _DLERROR.search(str(e))
        fallback = [first.group(1)] if first else [" ".join(str(e).split())]
    try:
        out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return fallback
    return missing_from_ldd(out) or fallback


def install_hint(missing: list[str]) -> str:
    pkgs = sorted({PACKAGES[lib] for lib in missing if lib in PACKAGES})
    others = [lib for lib in missing if lib not in PACKAGES]
    parts = []
    if pkgs:
        parts.append("install them with: sudo apt-get install " + " ".join(pkgs))
    if any(lib.startswith("libQt6") for lib in others):
        parts.append("reinstall PySide6 (pip install --force-reinstall PySide6)")
    return "; ".join(parts) or "install the packages that provide them"


def xcb_problem() -> str | None:
    """One line saying why the xcb display cannot work here, or None (also when xcb is not used)."""
    if not sys.platform.startswith("linux"):
        return None
    requested = os.environ.get("QT_QPA_PLATFORM", "").strip()
    if requested and not requested.startswith("xcb"):
        return None  # offscreen, wayland, vnc...: not ours to check
    if not requested and os.environ.get("WAYLAND_DISPLAY"):
        return None  # Qt may choose Wayland; let it
    plugin = next((d / "libqxcb.so" for d in plugin_dirs() if (d / "libqxcb.so").is_file()), None)
    if plugin is None:
        return None
    missing = missing_libraries(plugin)
    if missing:
        return (f"Qt's display plugin (xcb) cannot load: missing {', '.join(missing)}; "
                f"{install_hint(missing)}. The README lists every package.")
    if not os.environ.get("DISPLAY"):
        return ("there is no display (DISPLAY is not set): run CallGuide in a desktop session, "
                "or under xvfb-run for a test.")
    return None
