"""Render the main states of the call window to PNG (tests/qt/screenshots/, or
$CALLGUIDE_SHOTS) so that a person can look at them; assert what must be on screen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from tests.qt.test_calls import budget_to_offer, open_to_affordability, through_outcomes

pytestmark = pytest.mark.qt


def shot(d, shots_dir, name: str) -> None:
    d.qtbot.wait(30)  # let layouts settle, as the live event loop would
    QApplication.processEvents()
    img = d.w.grab()
    assert not img.isNull()
    assert img.save(str(shots_dir / f"{name}.png"))


def seed_history(library, store) -> None:
    """An earlier call on the account: disclosure with consent, adjustments, a hold."""
    from callguide.engine.session import Account, CallSession

    s = CallSession.start(library, store, Account("A-500", "Maria Jensen", "UK", None, "820.00"), "agent-1",
                          start_flow="texas")
    s.next(); s.next(); s.consent("given")  # noqa: E702
    s.answer({"category": "health", "impact": "Treatment for depression; hard to open post"})
    s.next()
    s.answer({"adjustments_wanted": True, "contact_channel": "email", "contact_format": "large_print"})
    s.next(); s.next(); s.next()  # noqa: E702
    s.next("signpost"); s.next("debt-advice"); s.next(); s.next()  # noqa: E702
    s.end_call("on_hold")


def test_screen_pop_while_loading(qtbot, db_path, shots_dir):
    """The first window of a screen-pop, before the flows are loaded (Danish)."""
    from callguide.qt.app import CallLauncher

    launcher = CallLauncher(db_path, None, "agent-7", {"account_id": "A-90", "name": "Kim Larsen",
                                                        "country": "DK", "balance": "5400.00"})
    launcher.start()
    w = launcher.window
    qtbot.addWidget(w)
    qtbot.waitExposed(w)
    assert w.loading.text() == "Indlæser forløb…" and not w.begin_button.isEnabled()
    assert "DKK" in w.account_line.text() and w.customer.text() == "Kim Larsen"
    img = w.grab()
    assert img.save(str(shots_dir / "00_loading_da.png"))
    qtbot.waitUntil(lambda: launcher.done, timeout=20000)
    assert w.begin_button.isEnabled()
    if launcher.store is not None:
        launcher.store.close()


def test_screens(open_window, library, store, shots_dir):
    d = open_window(account_id="A-100", name="Jo Bloggs", balance="1234.50")
    shot(d, shots_dir, "01_new_call")
    d.w.close()

    seed_history(library, store)
    d = open_window(account_id="A-500", name="Maria Jensen", balance="820.00")
    lines = [lab.text() for lab in d.w.banner.findChildren(QLabel, "bannerLine")]
    assert any("review by" in t for t in lines), lines
    shot(d, shots_dir, "02_banner_with_history")
    d.w.close()

    d = open_window(account_id="A-101", name="Sam Patel")
    open_to_affordability(d)
    d.fill_all({"employment": "employed", "finance_difficulty": False})
    d.next()
    d.fill("income", "12x")  # a wrong amount: the inline message in plain words
    d.next()
    assert d.panel._rows["income"].message.isVisible()
    shot(d, shots_dir, "03_step_with_fields")
    d.fill("income", "2000")
    d.next()
    d.fill_all({"rent": "600", "energy": "120", "council_tax": "100", "other_priority": "0",
                "priority_arrears": False})
    d.next()
    d.fill("essentials", "500")
    d.next()
    d.fill("other_debts", "100")
    d.next()
    d.fill("instalment", "150")
    d.next()
    d.press(Qt.Key.Key_F2)
    d.next(); d.next()  # noqa: E702
    shot(d, shots_dir, "04_consent")
    d.consent("given")
    d.fill_all({"category": "capability", "impact": "Finds letters hard to follow"})
    d.next()
    d.fill("adjustments_wanted", False)
    d.next(); d.next()  # noqa: E702
    d.choose("bruce")
    d.next()
    d.next()
    for step in ("behaviour", "remembering", "understanding", "communicating", "evaluating"):
        d.fill(f"concern_{step}", True)
        d.next()
    d.next()
    d.choose("doubt-remains")
    d.next(); d.next()  # noqa: E702
    d.choose("no-third-party")
    d.next()
    through_outcomes(d)
    if d.where[0] == "texas":
        d.choose("none")
        d.next()  # TEXAS done: back to the budget, whose payment question is not allowed now
    # the question about paying is never shown again: the budget's explanation instead
    assert d.where == ("affordability", "not-today"), d.where
    shot(d, shots_dir, "05_blocked_payment")
    d.w.set_large_text(True)
    shot(d, shots_dir, "05b_blocked_payment_large_text")
    d.w.set_large_text(False)
    d.w.set_language("da")
    assert "beslutningsevne" in d.view.guidance, d.view.guidance
    assert "beslutningsevne" in d.w.state_chip.text() and "I bero til" in d.w.state_chip.text()
    shot(d, shots_dir, "05c_blocked_payment_da")
    d.w.set_language("en")
    d.w.close()

    d = open_window(account_id="A-102", name="Petra Nováková", country="CZ", lang="cs", balance="48000")
    open_to_affordability(d)
    d.press(Qt.Key.Key_F5)
    d.next(); d.next()  # noqa: E702
    texas = next(c for c in d.w.call_bar.interrupt_cells.values() if c.button.text().endswith("TEXAS"))
    assert texas.slot.text() == "Nejdřív dokončete BLAKE."
    shot(d, shots_dir, "06_blake_cs")
    d.w.set_language("en")
    d.choose("immediate-danger")
    shot(d, shots_dir, "06b_blake_location")
    d.w.close()

    d = open_window(account_id="A-103", name="Jo Bloggs")
    open_to_affordability(d)
    budget_to_offer(d)
    d.choose("agree")  # the arrangement starts by itself
    d.choose("go-ahead")
    d.fill_all({"arrangement_amount": "150", "payment_day": "15", "first_payment": "2030-01-15",
                "payment_method": "direct_debit"})
    d.next()
    d.choose("agreed")
    d.next()
    through_outcomes(d)
    d.next()
    d.choose("arrangement")
    d.next()
    d.choose("callback-14")
    d.next()
    d.consent("given")
    d.next()
    d.next()
    d.choose("fine")
    through_outcomes(d)
    assert d.w.pages.currentWidget() is d.w.wrap_panel
    shot(d, shots_dir, "07_wrap_up")
    d.w.set_language("cs")
    assert d.w.wrap_panel.title.text() == "Závěr: zkontrolujte před ukončením hovoru"
    shot(d, shots_dir, "07b_wrap_up_cs")
