"""The two questions asked before a call: which account (`StartDialog`, skipped for a
screen-pop from the dialer) and, when the app was killed mid-call, whether to resume
that call exactly or leave it (`ResumeDialog`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from callguide.qt import i18n
from callguide.qt.i18n import tr

if TYPE_CHECKING:  # the store package pulls in sqlite-utils: not needed to ask for the account
    from callguide.store.base import CallSummary

COUNTRIES = ("UK", "DK", "CZ")
COUNTRY_LANG = {"UK": "en", "DK": "da", "CZ": "cs"}
COUNTRY_CURRENCY = {"UK": "GBP", "DK": "DKK", "CZ": "CZK"}  # as the engine's Account; shown before it loads


class StartDialog(QDialog):
    """Account id, customer name, country, language, balance. `values()` after accept."""

    def __init__(self, defaults: dict[str, Any] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        d = defaults or {}
        self.setObjectName("startDialog")
        self.setWindowTitle(tr("start.title"))
        # no fixed minimum width on the dialog: that would override its layout's, and cut the buttons
        col = QVBoxLayout(self)
        col.setContentsMargins(24, 20, 24, 20)
        col.setSpacing(14)
        title = QLabel(tr("start.heading"))
        title.setObjectName("dialogTitle")
        col.addWidget(title)
        form = QFormLayout()
        form.setSpacing(10)
        self.account = QLineEdit(d.get("account_id") or "")
        self.account.setMinimumWidth(280)
        self.name = QLineEdit(d.get("name") or "")
        self.country = QComboBox()
        for c in COUNTRIES:
            self.country.addItem(tr(f"country.{c}"), c)
        if d.get("country"):
            self.country.setCurrentIndex(max(self.country.findData(str(d["country"]).upper()), 0))
        self.lang = QComboBox()
        for code in i18n.LANGS:
            self.lang.addItem(tr(f"lang.{code}"), code)
        self.lang.setCurrentIndex(i18n.LANGS.index(d.get("lang") or COUNTRY_LANG[self.country.currentData()]))
        self.country.currentIndexChanged.connect(
            lambda _i: self.lang.setCurrentIndex(i18n.LANGS.index(COUNTRY_LANG[self.country.currentData()])))
        self.balance = QLineEdit(str(d.get("balance") or ""))
        self.balance.setPlaceholderText(tr("start.balance_hint"))  # empty: unknown, never 0.00
        for key, w in (("start.account", self.account), ("start.name", self.name), ("start.country", self.country),
                       ("start.lang", self.lang), ("start.balance", self.balance)):
            w.setAccessibleName(tr(key))
            form.addRow(tr(key), w)
        col.addLayout(form)
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.hide()
        col.addWidget(self.error)
        row = QHBoxLayout()
        self.loading = QLabel(tr("app.loading"))  # the flows load behind this dialog; a quiet line until then
        self.loading.setObjectName("muted")
        self.loading.setAccessibleName(tr("app.loading"))
        self.loading.hide()
        row.addWidget(self.loading)
        row.addStretch(1)
        self.cancel_button = QPushButton(tr("start.cancel"))
        self.cancel_button.setAccessibleName(tr("start.cancel"))
        self.cancel_button.clicked.connect(self.reject)
        self.ok_button = QPushButton(tr("start.ok"))
        self.ok_button.setObjectName("nextButton")
        self.ok_button.setAccessibleName(tr("start.ok"))
        self.ok_button.setDefault(True)
        self.ok_button.clicked.connect(self._on_ok)
        row.addWidget(self.cancel_button)
        row.addWidget(self.ok_button)
        col.addLayout(row)

    def set_loading(self, on: bool) -> None:
        self.loading.setVisible(on)

    def _balance(self) -> str:
        """The balance typed, as a plain amount ("1234.50"); "" when not given (unknown)."""
        text = self.balance.text().strip()
        if not text:
            return ""
        from callguide.formatting import MoneyError, parse_money

        try:
            return str(parse_money(text, self.lang.currentData()))
        except MoneyError:
            return "?"

    def _on_ok(self) -> None:
        problem = None
        if not self.account.text().strip():
            problem = tr("start.need_account")
        elif self._balance() == "?":
            problem = tr("msg.enter_amount")
        if problem:
            self.error.setText(problem)
            self.error.show()
            return
        self.accept()

    def values(self) -> dict[str, Any]:
        return {"account_id": self.account.text().strip(), "name": self.name.text().strip(),
                "country": self.country.currentData(), "lang": self.lang.currentData(),
                "balance": self._balance()}


class ResumeDialog(QDialog):
    """Calls left open by a crash: resume one exactly, or leave them (they stay in the journal)."""

    def __init__(self, calls: list[CallSummary], parent: QWidget | None = None,
                 on_the_line: dict[str, Any] | None = None):
        """`on_the_line`: the account the window was opened for (a screen-pop: account_id, name). An
        unfinished call of another account is still offered, but Enter does not resume it: the dialog
        says the customer on the line is someone else, and its default is to leave it."""
        # not at the top: the start dialog is shown before the (slow to import) Qt namespace loads
        from PySide6.QtCore import Qt

        super().__init__(parent)
        self.calls = calls
        self.chosen: str | None = None
        self.setObjectName("resumeDialog")
        self.setWindowTitle(tr("resume.title"))
        col = QVBoxLayout(self)
        col.setContentsMargins(24, 20, 24, 20)
        col.setSpacing(12)
        title = QLabel(tr("resume.heading", n=len(calls)))
        title.setObjectName("dialogTitle")
        title.setWordWrap(True)
        col.addWidget(title)
        text = QLabel(tr("resume.text"))
        text.setWordWrap(True)
        col.addWidget(text)
        self.list = QListWidget()
        self.list.setAccessibleName(tr("resume.list"))
        self.list.setWordWrap(True)  # a call is two lines that wrap to the dialog's width, never cut
        self.list.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setSpacing(2)
        for c in calls:
            acct = (c.data or {}).get("account", {})
            label = (tr("resume.item", name=acct.get("name") or c.account_id, account=c.account_id) + "\n"
                     + tr("resume.item_detail", started=_when(c.started), last=_when(c.last_ts, time_only=True),
                          n=c.entries))
            item = QListWidgetItem(label)
            item.setToolTip(label)
            item.setData(Qt.ItemDataRole.UserRole, c.call_id)
            self.list.addItem(item)
        self.list.ensurePolished()  # the stylesheet's font (large text is larger): as wide as the widest line
        fm = self.list.fontMetrics()
        widest = max((fm.horizontalAdvance(line) for i in range(self.list.count())
                      for line in self.list.item(i).text().split("\n")), default=0)
        self.list.setMinimumWidth(min(max(490, widest + 56), 1100))
        line_id = str((on_the_line or {}).get("account_id") or "").strip()
        same = [i for i, c in enumerate(calls) if c.account_id == line_id] if line_id else list(range(len(calls)))
        self.list.setCurrentRow(same[-1] if same else len(calls) - 1)
        self.other_account = QLabel(tr("resume.other_account", name=(on_the_line or {}).get("name") or line_id,
                                       account=line_id) if not same else "")
        self.other_account.setObjectName("nextReasonBlocked")  # read before Enter: not this customer's call
        self.other_account.setWordWrap(True)
        self.other_account.setVisible(not same)
        self.list.itemActivated.connect(lambda _i: self._resume())
        col.addWidget(self.list)
        col.addWidget(self.other_account)
        row = QHBoxLayout()
        row.addStretch(1)
        self.leave_button = QPushButton(tr("resume.leave"))
        self.leave_button.setAccessibleName(tr("resume.leave"))
        self.leave_button.clicked.connect(self.reject)
        self.resume_button = QPushButton(tr("resume.resume"))
        self.resume_button.setObjectName("nextButton")
        self.resume_button.setAccessibleName(tr("resume.resume"))
        self.resume_button.clicked.connect(self._resume)
        row.addWidget(self.leave_button)
        row.addWidget(self.resume_button)
        col.addLayout(row)
        default = self.resume_button if same else self.leave_button
        default.setDefault(True)
        if not same:  # Enter leaves it, from the list too (an activated row would resume it)
            self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.resume_button.setObjectName("")  # the blue button is what Enter does: leave it
            self.leave_button.setObjectName("nextButton")
            self.leave_button.setFocus()

    def _resume(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        from PySide6.QtCore import Qt

        self.chosen = str(item.data(Qt.ItemDataRole.UserRole))
        self.accept()


def _when(ts: str, time_only: bool = False) -> str:
    """A journal time (UTC, ISO) as this computer's local time, written the UI language's way
    ("25. 11. 2026 20:09", "25. nov. 2026 20.09"), never the raw ISO form."""
    import datetime as dt

    from callguide.formatting import format_date, format_time
    from callguide.qt.i18n import language

    try:
        when = dt.datetime.fromisoformat(str(ts))
    except ValueError:
        return str(ts)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    when = when.astimezone()
    clock = format_time(when, language())
    return clock if time_only else f"{format_date(when.date(), language(), 'medium')} {clock}"
