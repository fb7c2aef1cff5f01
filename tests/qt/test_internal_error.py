"""A command that stops on an internal error (a bug in an action) in the real window: the error strip
says it in one line, the call is rebuilt in place from its journal (nothing of the failed command is
in memory or on screen: no hold on the banner), and the agent goes on in the same window."""

from __future__ import annotations

import pytest

from tests.qt.test_calls import budget_to_offer, open_to_affordability

pytestmark = pytest.mark.qt


def _hold_then_fail(ctx, a):
    ctx.start_hold("2026-12-23")
    raise RuntimeError("unexpected")


def test_an_internal_error_is_one_line_and_the_window_shows_the_call_as_journalled(open_window, monkeypatch,
                                                                                    shots_dir):
    from callguide.engine.actions import EXECUTORS
    from callguide.engine.commands import Action

    monkeypatch.setitem(EXECUTORS, "test_hold_then_fail", _hold_then_fail)
    d = open_window(account_id="A-300")
    open_to_affordability(d)
    where = d.where
    assert d.w.bridge.apply(Action("test_hold_then_fail", {})) is None  # the bar's door: failed, said
    assert d.w.error_strip.isVisible()
    assert "test_hold_then_fail stopped on an internal error (RuntimeError: unexpected); nothing of it was " \
           "recorded: the call is as it was before it." in d.w.error_strip.text()
    assert "\n" not in d.w.error_strip.text()
    assert not d.session.state.hold_active  # before: on in memory (and on the next checks) until a resume
    assert not any(k == "hold" for k, _ in d.w.banner.lines())
    assert d.where == where
    d.w.grab().save(str(shots_dir / "internal_error.png"))
    assert [e.type for e in d.entries()][-1] == "call_resumed"
    budget_to_offer(d)  # the agent goes on in the same window, through the budget to the offer
    assert d.where == ("affordability", "sustainable")
    assert not d.w.error_strip.isVisible()


@pytest.mark.parametrize("lang, country, words", [
    ("da", "DK", "stoppede på en intern fejl (RuntimeError: unexpected); intet af det blev registreret"),
    ("cs", "CZ", "se zastavilo na vnitřní chybě (RuntimeError: unexpected); nic z toho nebylo zaznamenáno"),
])
def test_the_engines_own_lines_are_said_in_the_calls_language(open_window, monkeypatch, lang, country, words):
    """Before, a Danish or Czech agent read the engine's English line ('... stopped on an internal
    error ...', 'The call has ended.'): the window said only the store's failures and the gate's
    refusals in the call's language. Now every EngineError with a code is (i18n.engine_error_text)."""
    from callguide.engine.actions import EXECUTORS
    from callguide.engine.commands import Action, EndCall, Next
    from callguide.qt.i18n import tr

    monkeypatch.setitem(EXECUTORS, "test_hold_then_fail", _hold_then_fail)
    d = open_window(account_id="A-301", country=country, lang=lang)
    open_to_affordability(d)
    assert d.w.bridge.apply(Action("test_hold_then_fail", {})) is None
    text = d.w.error_strip.text()
    assert words in text and "internal error" not in text, text
    assert d.session.apply(EndCall("referred")).ok and d.session.ended
    assert d.w.bridge.apply(Next()) is None
    assert tr("engine.ended") in d.w.error_strip.text() and "The call has ended" not in d.w.error_strip.text()
