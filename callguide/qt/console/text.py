"""How the console words things: kinds, statuses, service levels, times (UI language, Babel)."""

from __future__ import annotations

import datetime as dt

from callguide.qt.i18n import has, language, protocol_name, tr
from callguide.team.console import QueueItem


def sealed_text(value: str | None, empty: str = "") -> str:
    """A text the reader may not read says so: sealed on the agent's desktop (None), or withdrawn
    (erased, purged) on DATE in the UI language (a `Gone`), or held back (`sealing.REASON_HELD_BACK`,
    in the UI language); else the text."""
    from callguide.store.sealing import Gone, held_back_text

    if value is None:
        return tr("console.sealed")
    if isinstance(value, Gone):
        return str(value.as_lang(language()))
    return str(held_back_text(value, language())) if value else empty


def kind_text(item: QueueItem) -> str:
    key = f"console.kind.{item.level.name}"
    if has(key):
        return tr(key)
    key = f"console.kind.{item.kind}"
    return tr(key) if has(key) else item.kind.replace("_", " ")


def status_text(item: QueueItem) -> str:
    if item.resolved:
        return tr("console.status.resolved", name=item.resolved.name)
    if item.assigned:
        return tr("console.status.assigned", name=item.assigned.to_name or item.assigned.to or "")
    if item.acknowledged:
        return tr("console.status.acknowledged", name=item.acknowledged.name)
    return tr("console.status.new")


def step_text(item: QueueItem) -> str:
    flow = protocol_name(item.flow_id) if item.flow_id else ""
    return " · ".join(x for x in (flow, item.step_id or "") if x) or "—"


def duration_text(seconds: float) -> str:
    from babel.dates import format_timedelta

    from callguide.formatting import locale_for

    return format_timedelta(dt.timedelta(seconds=max(0, int(seconds))), granularity="second", threshold=1.5,
                            format="short", locale=locale_for(language()))


def time_text(when: dt.datetime, now: dt.datetime) -> str:
    from callguide.formatting import format_datetime, locale_for

    local, today = when.astimezone(), now.astimezone()
    if local.date() == today.date():
        from babel.dates import format_time

        return format_time(local, format="short", locale=locale_for(language()))
    return format_datetime(local, language(), "short")


def due_text(item: QueueItem, now: dt.datetime) -> str:
    late = item.overdue(now)
    if not item.open:
        return tr("console.due.done")
    if late == "acknowledge":
        return tr("console.due.overdue_acknowledge", time=duration_text((now - item.raised).total_seconds()))
    if late == "resolve":
        return tr("console.due.overdue_resolve", time=duration_text((now - item.raised).total_seconds()))
    if item.acknowledged is None:
        return tr("console.due.ack_in", time=duration_text((item.ack_due - now).total_seconds()))
    return tr("console.due.resolve_in", time=duration_text((item.resolve_due - now).total_seconds()))
