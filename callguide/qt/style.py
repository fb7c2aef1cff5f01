"""The look: the stylesheet template in `resources/style/callguide.qss`, filled with one
of two themes (normal; large text + high contrast), and the application font.
Applied to the whole QApplication so every window and dialog follows it."""

from __future__ import annotations

from pathlib import Path
from string import Template

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from callguide import paths

FONT_FAMILIES = ["Inter", "Segoe UI", "Noto Sans", "Cantarell", "Ubuntu", "DejaVu Sans"]

NORMAL = {
    "bg": "#F5F6F8", "card": "#FFFFFF", "side": "#EEF0F3", "line": "#DDE1E7", "input": "#B8C0CC",
    "text": "#1F2933", "muted": "#5F6B7A", "sayText": "#102A43",
    "accent": "#2456A4", "accentDark": "#173D78", "accentSoft": "#E6EEF9", "focusRing": "#0B1F3F",
    "guide": "#EEF1F5", "guideLine": "#DDE1E7", "guideText": "#3E4C59",
    "red": "#C62828", "redSoft": "#FDECEA",
    "disabledBg": "#ECEEF1", "disabledText": "#8A94A3",
    "base": 14, "small": 13, "tiny": 11, "title": 17, "heading": 22, "say": 21, "consent": 18, "choice": 15,
    "control": 22,
}

LARGE = {
    **NORMAL,
    "bg": "#FFFFFF", "card": "#FFFFFF", "side": "#FFFFFF", "line": "#000000", "input": "#000000",
    "text": "#000000", "muted": "#1A1A1A", "sayText": "#000000",
    "accent": "#0033A0", "accentDark": "#001A57", "accentSoft": "#DCE6FA", "focusRing": "#000000",
    "guide": "#F0F0F0", "guideLine": "#000000", "guideText": "#000000",
    "red": "#B00000", "redSoft": "#FFE5E5",
    "disabledBg": "#E0E0E0", "disabledText": "#404040",
    "base": 18, "small": 16, "tiny": 14, "title": 22, "heading": 28, "say": 28, "consent": 24, "choice": 19,
    "control": 30,
}

_cache: dict[bool, str] = {}


def icon_path() -> Path:
    return paths.resources_dir() / "icons" / "callguide.svg"


def stylesheet(large: bool = False) -> str:
    if large not in _cache:
        template = (paths.resources_dir() / "style" / "callguide.qss").read_text(encoding="utf-8")
        theme = LARGE if large else NORMAL
        values = {k: str(v) for k, v in theme.items()}
        values["icons"] = (paths.resources_dir() / "icons").as_posix()
        _cache[large] = Template(template).safe_substitute(values)
    return _cache[large]


def apply(large: bool = False) -> None:
    app = QApplication.instance()
    if app is None:
        return
    font = QFont()
    font.setFamilies(FONT_FAMILIES)
    font.setPixelSize(int((LARGE if large else NORMAL)["base"]))
    app.setFont(font)
    app.setStyleSheet(stylesheet(large))
