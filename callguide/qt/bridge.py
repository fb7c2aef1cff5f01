"""`SessionBridge`: the one place where a `CallSession`'s events become Qt signals
(the Plover pattern: the engine exposes hooks, one small adapter maps them to Signals).

The view is built here ONCE per engine operation and pushed to the widgets (`view_changed`,
the napari pattern: a widget takes a view and renders it, so it can be tested alone with a
view from the real engine); no widget builds the view again. `view` is the latest one.

Widgets take a bridge, listen to its signals and change the call only through
`apply(command)` (the engine's typed commands, `callguide.engine.commands`), which turns the
core's one-line errors (EngineError, StoreError) into the `failed` signal instead of a
traceback. The bridge owns no call state of its own.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from callguide.engine.commands import Answer, Command, CommandError, EngineError, Result
from callguide.engine.session import CallSession
from callguide.engine.views import StepView
from callguide.qt.i18n import engine_error_text
from callguide.store.base import StoreError


class SessionBridge(QObject):
    """Re-emits a session's events as past-tense Qt signals."""

    view_changed = Signal(object)       # the StepView built once after an operation: render it
    changed = Signal(str)               # an operation finished (op name), after view_changed
    step_entered = Signal(str, str)     # flow id, step id
    blocked = Signal(object)            # {"action", "rule", "reason"}
    entries_written = Signal(int)       # how many entries the last flush made durable
    stack_changed = Signal(object)      # [flow ids], bottom first
    consent_recorded = Signal(str, str)  # purpose, decision
    call_ended = Signal(str)            # outcome code ("" when none)
    received = Signal(object, object)   # raised elsewhere on the account: [kinds], [consent purposes ended]
    refused = Signal(object)            # a Result with ok=False from an operation the agent asked for
    failed = Signal(str)                # a one-line error from the core (journal or engine)

    def __init__(self, session: CallSession, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self._view: StepView | None = None
        self.views_built = 0  # how many views this bridge built (one per operation)
        self._unsubscribe = session.subscribe(self._on_event)

    @property
    def view(self) -> StepView:
        """The session's view as of the last operation (built now only if none was built yet)."""
        if self._view is None:
            return self.rebuild_view()
        return self._view

    def rebuild_view(self) -> StepView:
        """Build the view again (not pushed: the caller renders it)."""
        view: StepView = self.session.view()
        self._view = view
        self.views_built += 1
        return view

    def push_view(self) -> None:
        """Build the view again and push it, outside an operation: time has passed (the customer's
        local time, contact hours) while nothing was done on the call."""
        self.view_changed.emit(self.rebuild_view())

    def detach(self) -> None:
        self._unsubscribe()

    # ------------------------------------------------------------------ engine -> Qt

    def _on_event(self, event: str, payload: dict[str, Any]) -> None:
        if event == "changed":
            self.view_changed.emit(self.rebuild_view())  # once per operation, pushed to every widget
            self.changed.emit(str(payload.get("op", "")))
        elif event == "step_entered":
            self.step_entered.emit(str(payload.get("flow", "")), str(payload.get("step", "")))
        elif event == "blocked":
            self.blocked.emit(dict(payload))
        elif event == "entries_written":
            self.entries_written.emit(len(payload.get("entries", ())))
        elif event == "stack_changed":
            self.stack_changed.emit(list(payload.get("stack", ())))
        elif event == "consent_recorded":
            self.consent_recorded.emit(str(payload.get("purpose", "")), str(payload.get("decision", "")))
        elif event == "call_ended":
            self.call_ended.emit(str(payload.get("outcome") or ""))
        elif event == "received":
            self.received.emit(list(payload.get("raised") or ()), list(payload.get("consents_ended") or ()))

    # ------------------------------------------------------------------ Qt -> engine

    def apply(self, command: Command) -> Result | None:
        """`session.apply(command)`. Returns its Result; None when the core failed (then `failed`
        has been emitted with the one-line message). A refusal is also emitted as `refused`
        (field errors of an Answer stay with the fields)."""
        try:
            result = self.session.apply(command)
        except StoreError as e:
            self.failed.emit(self._store_text(e))
            return None
        except (EngineError, CommandError) as e:
            self.failed.emit(engine_error_text(e))
            return None
        if not result.ok and not isinstance(command, Answer):
            self.refused.emit(result)
        return result

    def take(self, command: Command) -> bool:
        """`apply`, for what a box holds (a note, a flag): True when the call took it, also when the
        journal could not be written just now and its entries wait for Ctrl+R with the call's others
        (then the box is to be emptied as for a saved one: kept, it would be taken twice)."""
        before = self.session.unsaved
        result = self.apply(command)
        return result.ok if result is not None else self.session.unsaved > before

    def retry_writes(self) -> Result | None:
        """Write entries a failed journal write left pending (not a change to the call)."""
        try:
            return self.session.retry_writes()
        except StoreError as e:
            self.failed.emit(self._store_text(e))
            return None
        except EngineError as e:
            self.failed.emit(engine_error_text(e))
            return None

    def _store_text(self, error: StoreError) -> str:
        """The journal's failure in the agent's language (`i18n.store_text`), naming the journal."""
        from callguide.qt.i18n import store_text

        return store_text(error, getattr(self.session.journal.store, "path", ""))
