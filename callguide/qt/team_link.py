"""`TeamLink`: the agent's window in team mode. The small adapter between the Qt-free
`callguide.team.desktop.TeamDesktop` (sync and LISTEN threads) and the window: the sync's status
and the protections re-read after a notice arrive on other threads and are re-emitted as Qt
signals (queued to the window's thread); the slots show the status in the call bar, say in the
banners where the protections came from ("offline: protections as of 14:02"), and put protections
raised elsewhere into the running call (`apply_protections`: the session's own state, so the gate
refuses what they forbid, exactly as for protections recorded on this desktop); and it puts the
console's acknowledgements of this call's escalations under the window's header, on every page
(`AckNotice`: "Supervisor acknowledged: NAME", also over the emergency script).

A person whose role may read the keys the team store escrows (the care team, on accounts referred
to it; the server's row-level security decides) sees the sealed details the customer consented to
share with them in the banners, opened as the console opens them (`TeamDesktop.escrowed`); the
read goes to the network, so it runs off the Qt thread, and the details are for the screen only
(the call's own register is left as it was). For every other role nothing changes.
"""

from __future__ import annotations

import contextlib
from typing import Any

from PySide6.QtCore import QObject, Signal


class TeamLink(QObject):
    status_changed = Signal(object)      # callguide.team.sync.SyncStatus
    protections_read = Signal(object)    # callguide.team.protections.ProtectionsRead
    protections_applied = Signal(list)   # what was newly raised in the call (["hold", ...])
    details_read = Signal(object)        # AccountState with the escrowed details opened (or None)

    def __init__(self, desktop: Any, window: Any, parent: QObject | None = None) -> None:
        super().__init__(parent or window)
        self.desktop = desktop
        self.window = window
        self.session = window.session
        self.status_changed.connect(self._on_status)
        self.protections_read.connect(self._on_read)
        self.details_read.connect(self._on_details)
        self.details: Any = None  # the register with escrowed details opened, as shown (None: as the call has it)
        self._unfollow: Any = None
        desktop.add_status_listener(self.status_changed.emit)   # from the sync thread: queued
        read = getattr(desktop.store, "last_read", None)
        if read is not None:
            self._show_source(read)
        self._unfollow = desktop.follow(self.session, self._read_elsewhere)
        self._on_status(desktop.status)
        from callguide.qt.ack_notice import AckNotice

        self.ack_notice = AckNotice()
        # under the header's strips, on every page: the emergency script is where it matters most
        root = window.centralWidget().layout()
        root.insertWidget(root.indexOf(window.info_strip) + 1, self.ack_notice)
        # its first read goes to the network: never on the Qt thread (the click never waits for it)
        import threading

        threading.Thread(target=self.ack_notice.watch, name="callguide-acks", daemon=True,
                         args=(desktop.reader, desktop.notices, self.session.call_id,
                               self.session.account.id)).start()
        if read is not None and getattr(read, "source", None) == "team":  # the escrowed details: off the Qt thread
            threading.Thread(target=self._read_details, name="callguide-escrow", daemon=True).start()
        window.bridge.changed.connect(self._on_changed)
        window.destroyed.connect(lambda *_: self.detach())

    def detach(self) -> None:
        if self._unfollow is not None:
            self._unfollow()
            self._unfollow = None
        with contextlib.suppress(RuntimeError):  # the widget may be gone with its window
            self.ack_notice.stop()

    def _read_elsewhere(self, read: Any, _notice: Any = None) -> None:
        """On the listener thread: the protections read again after a notice, and the details opened
        from the same read (both reach the Qt thread one after the other)."""
        details = self._details() if getattr(read, "source", None) == "team" else None
        with contextlib.suppress(RuntimeError):  # the window may be gone meanwhile
            self.protections_read.emit(read)
            self.details_read.emit(details)

    def _read_details(self) -> None:
        """Off the Qt thread: the register with the escrowed details this person may read opened."""
        details = self._details()
        with contextlib.suppress(RuntimeError):
            self.details_read.emit(details)

    def _details(self) -> Any:
        escrowed = getattr(self.desktop, "escrowed", None)
        if escrowed is None:
            return None
        try:
            return escrowed.readable_state(self.session.account.id, self.session.facts.today(),
                                           exclude_call=self.session.call_id, lang=self.session.lang)
        except Exception:  # noqa: BLE001 - a failed read leaves the window as it was ("not readable here")
            return None

    def _on_details(self, state: Any) -> None:
        """Show the opened register; None (no key served now, or offline) shows the call's own again:
        a detail is never shown longer than the team store serves its key."""
        if state is None and self.details is None:
            return
        self.details = state
        self._show_details()

    def _show_details(self) -> None:
        for banner in (self.window.banner, getattr(self.window.side, "history", None)):
            if banner is not None:
                banner.state = self.details if self.details is not None else self.session.history
                banner.retranslate()

    def _on_changed(self, op: str) -> None:
        if op == "lang":
            self.ack_notice.retranslate()
            if self.details is not None:
                from callguide.engine.protections import localize_history

                localize_history(self.details, self.session.lang)
                self._show_details()

    def _on_status(self, status: Any) -> None:
        self.window.call_bar.set_team_status(status)

    def _show_source(self, read: Any) -> None:
        for banner in (self.window.banner, getattr(self.window.side, "history", None)):
            if banner is not None:
                banner.set_source(read.source, read.as_of)

    def _on_read(self, read: Any) -> None:
        from callguide.engine.commands import EngineError
        from callguide.store.base import StoreError
        from callguide.team.desktop import apply_protections

        if self.session.ended:
            return
        try:
            raised = apply_protections(self.session, read.state)
        except (EngineError, StoreError) as e:
            self.window.show_error(str(e))
            raised = []
        self._show_source(read)  # (what was raised is said by the window: `CallWindow._on_received`)
        self.protections_applied.emit(raised)
