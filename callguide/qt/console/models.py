"""Item models for the console's tables: `QueueTableModel` (every escalation the person may see)
and `WorklistTableModel` (the care team's open referrals). They hold the core's `QueueItem`s and
the time; colour says what needs attention (an unacknowledged BLAKE or emergency: red; overdue:
amber), and every cell has an accessible text that says it in words as well."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from callguide.qt.i18n import tr
from callguide.team.console import QueueItem

from .text import due_text, kind_text, sealed_text, status_text, step_text, time_text

ALARM_BG, ALARM_FG = QColor("#C62828"), QColor("#FFFFFF")
OVERDUE_BG, OVERDUE_FG = QColor("#FFE0B2"), QColor("#7A3E00")
DONE_FG = QColor("#5F6B7A")

Index = QModelIndex | QPersistentModelIndex


class _ItemsModel(QAbstractTableModel):
    COLUMNS: tuple[str, ...] = ()

    def __init__(self, clock: Callable[[], dt.datetime], parent: Any = None) -> None:
        super().__init__(parent)
        self.clock = clock
        self.items: list[QueueItem] = []
        self.now = clock()

    # -- data in

    def set_items(self, items: list[QueueItem]) -> None:
        self.beginResetModel()
        self.items = self.select(items)
        self.now = self.clock()
        self.endResetModel()

    def select(self, items: list[QueueItem]) -> list[QueueItem]:
        return list(items)

    def tick(self) -> None:
        """The time moved: service levels and ages change (colours, the due column)."""
        self.now = self.clock()
        if self.items:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.items) - 1, len(self.COLUMNS) - 1))

    def item(self, row: int) -> QueueItem | None:
        return self.items[row] if 0 <= row < len(self.items) else None

    def row_of(self, ref: str) -> int:
        return next((i for i, it in enumerate(self.items) if it.ref == ref), -1)

    # -- Qt

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role in (Qt.ItemDataRole.DisplayRole,
                                                                 Qt.ItemDataRole.AccessibleTextRole):
            return tr(f"console.col.{self.COLUMNS[section]}")
        return None

    def cell(self, item: QueueItem, column: str) -> str:
        if column == "kind":  # the sign stays when the row's colour gives way to the selection's
            return ("\u26a0 " if item.alarm() else "") + kind_text(item)
        if column == "status":
            return status_text(item)
        if column == "account":
            return item.account_id
        if column == "agent":
            return item.agent_name
        if column == "step":
            return step_text(item)
        if column == "raised":
            return time_text(item.raised, self.now)
        if column == "due":
            return due_text(item, self.now)
        if column == "reason":
            return sealed_text(item.reason)
        return ""

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        item = self.item(index.row()) if index.isValid() else None
        if item is None:
            return None
        column = self.COLUMNS[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.cell(item, column)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{tr(f'console.col.{column}')}: {self.cell(item, column)}"
        if role == Qt.ItemDataRole.UserRole:
            return item
        if role == Qt.ItemDataRole.BackgroundRole:
            if item.alarm():
                return QBrush(ALARM_BG)
            if item.overdue(self.now):
                return QBrush(OVERDUE_BG)
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if item.alarm():
                return QBrush(ALARM_FG)
            if item.overdue(self.now):
                return QBrush(OVERDUE_FG)
            if not item.open:
                return QBrush(DONE_FG)
            return None
        if role == Qt.ItemDataRole.FontRole and (item.alarm() or (column == "due" and item.overdue(self.now))):
            f = QFont()
            f.setBold(True)
            return f
        return None


class QueueTableModel(_ItemsModel):
    """Every escalation the person may see: open ones first (unacknowledged BLAKE/emergency on top)."""

    COLUMNS = ("kind", "status", "account", "agent", "step", "raised", "due", "reason")


class WorklistTableModel(_ItemsModel):
    """The care team's worklist: open referrals to the care team, oldest first."""

    COLUMNS = ("account", "agent", "step", "raised", "status", "due", "reason")

    def select(self, items: list[QueueItem]) -> list[QueueItem]:
        return sorted((i for i in items if i.kind == "care_team" and i.open), key=lambda i: i.raised)
