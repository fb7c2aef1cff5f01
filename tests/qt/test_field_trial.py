"""The failures of the field trial (issue 11, and issue 10 section 4), each driven through the real
window with key events on the focused widget, as an agent works: Tab, Enter, F-keys, Alt+letters,
arrows. Real engine, real flows, a real SQLite journal; each test asserts what the journal holds."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QLabel

from tests.qt.test_calls import open_to_affordability

pytestmark = pytest.mark.qt

NO = Qt.KeyboardModifier.NoModifier
ALT = Qt.KeyboardModifier.AltModifier
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def focus():
    return QApplication.focusWidget()


def answers(d, fid: str) -> list:
    return [e.data["value"] for e in d.entries("answer") if e.data["field"] == fid]


def key(d, k, mod=NO, times: int = 1) -> None:
    for _ in range(times):
        d.press(k, mod)


def assert_focus_on_step(d) -> None:
    w = focus()
    assert w is not None and d.w.step_panel.isAncestorOf(w), (d.where, w and w.objectName(), w and type(w).__name__)


def to_texas_ask(d) -> None:
    """Affordability's first question, then F2 (TEXAS), its two opening steps and consent given."""
    open_to_affordability(d)
    key(d, Qt.Key.Key_F2)
    assert d.where == ("texas", "thank")
    assert_focus_on_step(d) and focus() is d.panel.next_button
    key(d, Qt.Key.Key_Return)  # Enter on the focused Next presses it
    key(d, Qt.Key.Key_Return)
    assert d.where == ("texas", "consent")
    key(d, Qt.Key.Key_G, ALT)
    assert d.where == ("texas", "ask")


def blake_no_immediate_danger(d) -> None:
    """BLAKE to its end by keys only: Enter on Next, Alt+2 for "no immediate danger"."""
    assert d.where == ("blake", "breathe")
    key(d, Qt.Key.Key_Return)
    key(d, Qt.Key.Key_Return)
    assert d.where == ("blake", "ask")
    key(d, Qt.Key.Key_2, ALT)
    for _ in range(8):
        if d.where[0] != "blake":
            break
        assert_focus_on_step(d)
        key(d, Qt.Key.Key_Return)
    assert d.where[0] != "blake"


# ------------------------------------------------------------------ 1. nothing lost around interrupts


def test_text_typed_before_an_interrupt_is_there_when_the_protocol_resumes(open_window):
    d = open_window()
    to_texas_ask(d)
    assert d.panel._rows["category"].radios[0] is focus()  # the first input of the step
    key(d, Qt.Key.Key_Down)  # arrows move the pick: "health" is the first option; stay on it
    key(d, Qt.Key.Key_Up)
    key(d, Qt.Key.Key_Space)  # picks and commits the focused option
    key(d, Qt.Key.Key_Tab)
    assert focus() is d.panel._rows["impact"].edit
    words = "Chemo every second week, very tired"
    d.type_text(focus(), words)
    assert answers(d, "impact") == []  # typed, not committed
    key(d, Qt.Key.Key_F5)  # the customer says something that needs BLAKE now
    assert d.where == ("blake", "breathe")
    assert answers(d, "impact") == []  # a draft is not journalled
    blake_no_immediate_danger(d)
    assert d.where == ("texas", "ask")
    row = d.panel._rows["impact"]
    assert row.edit.text() == words and row.edit.isModified()
    assert row.hint.isVisible() and row.hint.text().startswith("Not saved yet")
    assert d.view.fields[1].value is None  # still a draft, on screen only
    key(d, Qt.Key.Key_Return, CTRL)  # Next commits it
    assert answers(d, "impact") == [words]
    assert d.where == ("texas", "ask-adjustments")
    # BLAKE already referred the customer to the care team: TEXAS does not offer it again
    key(d, Qt.Key.Key_N)  # adjustments wanted? No (the yes/no key)
    key(d, Qt.Key.Key_Return, CTRL)
    while d.view.kind in ("action", "say"):
        key(d, Qt.Key.Key_Return, CTRL)
    assert d.where == ("texas", "route")
    key(d, Qt.Key.Key_4, ALT)  # signposting
    assert d.where == ("texas", "signpost")
    assert not d.choice_button("care-team").isEnabled()
    assert len([e for e in d.entries("escalation") if e.data["kind"] == "care_team"]) == 1


def test_committed_answer_comes_back_prefilled_and_next_never_blanks_it(open_window):
    d = open_window()
    open_to_affordability(d)
    d.fill_all({"employment": "employed", "finance_difficulty": False})
    d.next()
    assert d.where == ("affordability", "income")
    edit = d.panel._rows["income"].edit
    assert focus() is edit
    d.type_text(edit, "1850")
    key(d, Qt.Key.Key_Tab)  # leaving the field commits it
    assert answers(d, "income") == ["1850.00"]
    key(d, Qt.Key.Key_F6)  # the care team, and back to the budget
    assert d.where == ("care-referral", "summary")
    d.next()
    d.fill_all({"referral_reason": "agent_unsure"})
    d.next()
    d.choose("declined")
    d.next()  # the referral's outcome
    assert d.where == ("affordability", "income")
    edit = d.panel._rows["income"].edit
    assert focus() is edit  # the first, focused field ...
    assert edit.text() == "£1,850.00".lstrip("£") and not edit.isModified()  # ... shows the saved answer
    key(d, Qt.Key.Key_Return)  # Enter: on to Next
    assert focus() is d.panel.next_button
    key(d, Qt.Key.Key_Return)  # Next
    assert d.where == ("affordability", "priority")
    assert answers(d, "income") == ["1850.00"]  # no empty answer over it
    assert d.session.values["income"] is not None


def test_only_an_answer_the_agent_cleared_is_sent_empty(open_window):
    d = open_window()
    open_to_affordability(d)
    d.fill_all({"employment": "employed", "finance_difficulty": False})
    d.next()
    d.type_text(focus(), "900")
    key(d, Qt.Key.Key_Tab)
    key(d, Qt.Key.Key_Tab, SHIFT)
    edit = d.panel._rows["income"].edit
    assert focus() is edit
    key(d, Qt.Key.Key_A, CTRL)
    key(d, Qt.Key.Key_Delete)  # the agent empties it on purpose
    key(d, Qt.Key.Key_Return, CTRL)
    assert answers(d, "income") == ["900.00", None]
    assert d.where == ("affordability", "income")  # required: Next says so, on the field
    assert d.panel._rows["income"].message.isVisible()


# ------------------------------------------------------------------ issue 10 section 4: committed, not scrolled


def test_choice_box_scrolled_by_arrows_and_wheel_journals_only_the_choice(open_window):
    d = open_window()
    open_to_affordability(d)
    combo = d.panel._rows["employment"].combo
    assert focus() is combo  # the step's first input
    key(d, Qt.Key.Key_Down, times=5)  # passes employed, self-employed, unemployed, sick, retired
    for delta in (-120, -120, 120):  # the wheel: two on, one back
        ev = QWheelEvent(QPointF(10, 10), QPointF(combo.mapToGlobal(QPoint(10, 10))), QPoint(0, 0),
                         QPoint(0, delta), Qt.MouseButton.NoButton, NO, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(combo, ev)
    assert combo.currentData() == "carer"
    assert answers(d, "employment") == []  # nothing journalled while it moves
    key(d, Qt.Key.Key_Tab)  # the agent moves on: that commits what the box shows
    assert answers(d, "employment") == ["carer"]
    assert d.panel._rows["finance_difficulty"].radios[0] is focus()
    key(d, Qt.Key.Key_Tab, SHIFT)
    combo = d.panel._rows["employment"].combo
    assert focus() is combo and combo.currentData() == "carer"  # the committed answer, shown
    key(d, Qt.Key.Key_Down)
    key(d, Qt.Key.Key_Up)  # there and back: nothing new to say
    key(d, Qt.Key.Key_Tab)
    assert answers(d, "employment") == ["carer"]


def test_radio_answers_moved_by_arrows_journal_only_where_they_stop(open_window):
    d = open_window()
    key(d, Qt.Key.Key_Return)  # Begin the call
    assert d.where == ("call-opening", "identity")
    radios = d.panel._rows["identity_check"].radios
    assert focus() is radios[0]
    key(d, Qt.Key.Key_Space)  # "confirmed": a deliberate pick commits at once
    key(d, Qt.Key.Key_Down, times=3)  # wrong person, not available, not verified ...
    key(d, Qt.Key.Key_Up, times=3)  # ... and back: the wheel of the keyboard
    assert answers(d, "identity_check") == ["confirmed"]
    key(d, Qt.Key.Key_Tab)  # left the field where it started: nothing new to say
    assert answers(d, "identity_check") == ["confirmed"]
    assert len(d.entries("answer")) == 1


# ------------------------------------------------------------------ 2. no stray key changes a live call


def test_focus_never_lands_on_the_language_menu_or_the_call_bar(open_window):
    d = open_window(country="DK", lang="da", balance="5400")
    open_to_affordability(d)
    key(d, Qt.Key.Key_F5)  # BLAKE: as in the trial
    assert_focus_on_step(d)
    key(d, Qt.Key.Key_Return)
    key(d, Qt.Key.Key_Return)
    for alt in (Qt.Key.Key_1,):  # immediate danger
        key(d, alt, ALT)
        assert_focus_on_step(d)
    d.type_text(focus(), "Nørregade 4")
    key(d, Qt.Key.Key_Return, CTRL)
    while d.where[0] == "blake":
        assert_focus_on_step(d)
        key(d, Qt.Key.Key_Down)  # a stray arrow wherever the focus is
        key(d, Qt.Key.Key_Return, CTRL)
    assert_focus_on_step(d)
    key(d, Qt.Key.Key_Down)
    assert d.session.lang == "da" and not d.entries("language_changed")
    # the language changes only from its menu
    key(d, Qt.Key.Key_L, CTRL)
    assert d.w.lang_menu.isVisible() and d.session.lang == "da"
    d.qtbot.keyClick(d.w.lang_menu, Qt.Key.Key_Escape)
    assert d.session.lang == "da" and not d.entries("language_changed")


def test_alt_digits_keep_the_focus_on_the_step(open_window):
    d = open_window()
    to_texas_ask(d)
    d.fill_all({"category": "health", "impact": "Back pain"})
    key(d, Qt.Key.Key_Return, CTRL)
    key(d, Qt.Key.Key_Y)  # adjustments wanted: yes
    d.fill("contact_channel", "email")
    key(d, Qt.Key.Key_Return, CTRL)
    while d.view.kind in ("action", "say"):
        key(d, Qt.Key.Key_Return, CTRL)
    for digit in (Qt.Key.Key_4, Qt.Key.Key_3):  # route: signposting; then free debt advice
        key(d, digit, ALT)
        assert_focus_on_step(d)
        assert focus() is not d.w.lang_button
    key(d, Qt.Key.Key_Return)  # the signpost step's Next
    key(d, Qt.Key.Key_Return)  # TEXAS's outcome
    assert d.where == ("affordability", "situation")
    assert_focus_on_step(d)


def test_tab_walks_the_step_then_the_side_then_the_header_never_the_call_bar(open_window):
    d = open_window()
    open_to_affordability(d)
    d.fill_all({"employment": "employed", "finance_difficulty": False})
    d.next()
    d.fill("income", "2000")
    d.next()
    assert d.where == ("affordability", "priority")
    rows = d.panel._rows
    first = rows["rent"].edit
    assert focus() is first
    expected = [rows["rent"].edit, rows["energy"].edit, rows["council_tax"].edit, rows["other_priority"].edit,
                rows["priority_arrears"].radios[0], d.panel.back_button, d.panel.next_button,
                d.w.side.note_edit, d.w.side.note_button, d.w.side.flag_edit, d.w.side.flag_button,
                d.w.lang_button, d.w.large_check, d.w.wrap_button]
    walked = []
    for _ in range(len(expected)):
        walked.append(focus())
        key(d, Qt.Key.Key_Tab)
    assert focus() is first  # round the whole window and back
    assert [w.objectName() or type(w).__name__ for w in walked] == \
        [w.objectName() or type(w).__name__ for w in expected]
    assert walked == expected
    bar = d.w.call_bar.findChildren(type(d.panel.next_button).__mro__[1])
    assert bar and not any(b in walked for b in bar)
    back = []
    for _ in range(len(expected)):
        key(d, Qt.Key.Key_Tab, SHIFT)
        back.append(focus())
    assert back == list(reversed(expected))  # Shift+Tab: the same ring the other way
    assert not d.entries("protocol_started")[3:]  # no Space or Enter on the way started anything


def test_tab_on_an_answer_step_walks_the_answers_then_side_and_header(open_window):
    d = open_window()
    open_to_affordability(d)
    key(d, Qt.Key.Key_F6)  # the care referral: its third step asks how to hand over
    d.next()
    d.fill_all({"referral_reason": "agent_unsure"})
    d.next()
    assert d.view.kind == "ask"
    answers_ = d.panel._choice_buttons
    assert focus() is answers_[0]
    expected = [*answers_, d.panel.back_button, d.w.side.note_edit, d.w.side.note_button, d.w.side.flag_edit,
                d.w.side.flag_button, d.w.lang_button, d.w.large_check, d.w.wrap_button]
    walked = []
    for _ in range(len(expected)):
        walked.append(focus())
        key(d, Qt.Key.Key_Tab)
    assert walked == expected and focus() is answers_[0]
    assert d.where == ("care-referral", "handover")  # Tab itself never answers


# ------------------------------------------------------------------ 3. keyboard


def test_enter_on_the_focused_next_button_presses_it(open_window):
    d = open_window()
    key(d, Qt.Key.Key_Return)
    key(d, Qt.Key.Key_Space)
    key(d, Qt.Key.Key_Tab)
    assert focus() is d.panel.next_button
    key(d, Qt.Key.Key_Enter)  # the keypad's Enter as well as Return
    assert d.where == ("call-opening", "purpose")
    assert focus() is d.panel.next_button
    key(d, Qt.Key.Key_Return)
    assert d.where == ("call-opening", "recording")


@pytest.mark.parametrize("lang,country,yes,no", [("en", "UK", "Y", "N"), ("da", "DK", "J", "N"), ("cs", "CZ", "A", "N")])
def test_yes_no_questions_answer_with_one_key_shown_on_screen(open_window, lang, country, yes, no):
    d = open_window(country=country, lang=lang)
    open_to_affordability(d)
    d.fill("employment", "employed")  # Enter on the box: on to the yes/no question
    row = d.panel._rows["finance_difficulty"]
    assert focus() in row.radios
    assert row.radios[0].text().endswith(f"({yes})") and row.radios[1].text().endswith(f"({no})")
    key(d, getattr(Qt.Key, f"Key_{yes}"))
    assert answers(d, "finance_difficulty") == [True]
    assert focus() is d.panel.next_button  # answered: on to the next input
    key(d, Qt.Key.Key_Tab, SHIFT, times=2)  # past Back, to the question again
    assert focus() in row.radios
    key(d, getattr(Qt.Key, f"Key_{no}"))
    assert answers(d, "finance_difficulty") == [True, False]


def test_note_then_ctrl_enter_moves_on_and_wrap_up_confirms_by_keys(open_window):
    d = open_window()
    key(d, Qt.Key.Key_Return)
    key(d, Qt.Key.Key_Space)
    key(d, Qt.Key.Key_N, CTRL | SHIFT)  # to the notes
    assert focus() is d.w.side.note_edit
    d.type_text(focus(), "Prefers calls after 5pm")
    key(d, Qt.Key.Key_Return, CTRL)  # a half-written note never moves the call on ...
    assert d.where == ("call-opening", "identity")
    assert "Alt+A" in d.panel.notice.text()
    key(d, Qt.Key.Key_A, ALT)  # ... Alt+A saves it, and the focus goes back to the step
    assert [e.data["text"] for e in d.entries("note")] == ["Prefers calls after 5pm"]
    assert_focus_on_step(d)
    key(d, Qt.Key.Key_Return, CTRL)
    assert d.where == ("call-opening", "purpose")
    key(d, Qt.Key.Key_W, CTRL | SHIFT)
    wrap = d.w.wrap_panel
    assert d.w.pages.currentWidget() is wrap and "Alt+C" in wrap.confirm.text()
    key(d, Qt.Key.Key_Return, CTRL)
    assert not d.session.ended
    key(d, Qt.Key.Key_C, ALT)
    assert wrap.confirm.isChecked()
    key(d, Qt.Key.Key_Return, CTRL)
    assert d.session.ended and d.entries("call_ended")


@pytest.mark.parametrize("lang,country,number", [("en", "UK", "999"), ("da", "DK", "112"), ("cs", "CZ", "112")])
def test_f8_shows_what_to_do_now(open_window, lang, country, number):
    d = open_window(country=country, lang=lang)
    open_to_affordability(d)
    key(d, Qt.Key.Key_F8)
    page = d.w.emergency_panel
    assert d.w.pages.currentWidget() is page
    assert page.number.text() == number
    steps = " ".join(lab.text() for lab in page.steps)
    assert number in steps
    say = {"en": "address", "da": "adressen", "cs": "adresu"}[lang]
    assert say in page.say_text.text()
    assert [e.data.get("number") for e in d.entries("escalation")] == [number]
    assert focus() is page.back_button
    key(d, Qt.Key.Key_Escape)
    # Esc is back to the call; the emergency put a crisis protection on the account, so the budget
    # question is not asked again: the gate rerouted the step to its `when_blocked` outcome.
    assert d.w.pages.currentWidget() is d.w.split and d.where == ("affordability", "not-today")
    assert [e.data["rerouted"] for e in d.entries("blocked")] == ["affordability/not-today"]
    assert [e.data["reason"] for e in d.entries("crisis")] == ["emergency"]
    assert_focus_on_step(d)


# ------------------------------------------------------------------ 4. the words read aloud


def test_money_in_the_call_language_and_an_unknown_balance(open_window, qtbot, tmp_path):
    d = open_window(country="DK", lang="da", balance="1234.50")
    assert "1.234,50\xa0kr." in d.w.account_line.text()
    d.w.close()
    from callguide.qt.app import CallLauncher
    from tests.qt.conftest import FLOWS

    launcher = CallLauncher(tmp_path / "other.db", FLOWS, "agent-7",
                            {"account_id": "A-77", "name": "Jens", "country": "DK"})
    launcher.start()
    qtbot.addWidget(launcher.window)
    assert launcher.window.account_line.text().endswith("Saldo ukendt")
    launcher.wait()
    w = launcher.window
    assert w.account_line.text().endswith("Saldo ukendt") and "0,00" not in w.account_line.text()
    launcher.store.close()


def test_opening_says_the_agents_name_and_no_bracketed_instruction(open_window):
    d = open_window()
    open_to_affordability(d)
    said = [e.data["say"] for e in d.entries("step_shown") if e.step_id == "purpose"]
    assert said and "agent-7" in said[0] and "[" not in said[0]


def test_headings_for_choices_and_no_review_caveat_for_agents(open_window):
    d = open_window()
    open_to_affordability(d)
    key(d, Qt.Key.Key_F6)
    d.next()
    d.fill_all({"referral_reason": "agent_unsure"})
    d.next()
    titles = [lab.text() for lab in d.panel.body.findChildren(QLabel, "sectionTitle")]
    assert "CHOOSE ONE" in titles and "WHAT DID THE CUSTOMER SAY?" not in titles
    # HARMED is `review_needed`: never live, so never in an agent's breadcrumb with its caveat
    assert "harmed" not in d.w.session.flows
    crumbs = d.panel.crumbs.text()
    assert "checked" not in crumbs and "default flow" not in crumbs


def test_danish_banner_dates_and_reasons_in_danish(open_window, library, store):
    from callguide.engine.session import Account, CallSession

    s = CallSession.start(library, store, Account("A-300", "Kim Larsen", "DK", "da", "5400"), "agent-1",
                          start_flow="blake")
    s.next(); s.next(); s.next("no-immediate-danger")  # noqa: E702
    for _ in range(6):
        if not s.stack or s.top.flow.id != "blake":
            break
        s.next()
    s.end_call("crisis")
    d = open_window(account_id="A-300", name="Kim Larsen", country="DK", lang="da")
    lines = [lab.text() for lab in d.w.banner.findChildren(QLabel, "bannerLine")]
    hold = next(t for t in lines if t.startswith("Sagen er i bero"))
    assert "(BLAKE)" in hold and "customer" not in hold and "review" not in hold
    import re

    assert re.search(r"\d{1,2}\. [a-zæøå]+ \d{4}", hold), hold  # "23. december 2026", not 2026-12-23
    assert not any(re.search(r"\d{4}-\d{2}-\d{2}", t) for t in lines), lines



def test_every_banner_date_is_written_the_danish_way(store):
    """The protections the gate added to the banner (capacity doubts and reviews, consents in force and
    their end) write their dates like the holds do: "3. november 2026", never 2026-11-03."""
    import datetime as dt
    import re

    from callguide.qt import i18n
    from callguide.qt.banner import history_items
    from callguide.store.base import NewEntry

    def add(account: str, type_: str, data: dict, ts: str) -> None:
        store.append(NewEntry(type_, f"call-{account}", account, "agent-1", "bruce", "ab" * 32, "doubt", data, ts))

    add("A-310", "call_started", {}, "2026-11-03T09:00:00+00:00")
    add("A-310", "capacity_doubt", {"reason": "BRUCE: doubt remains"}, "2026-11-03T09:05:00+00:00")
    add("A-310", "consent", {"purpose": "health_disclosure", "decision": "given", "expires": "2027-05-03"},
        "2026-11-03T09:06:00+00:00")
    add("A-311", "call_started", {}, "2026-11-04T09:00:00+00:00")
    add("A-311", "capacity_doubt", {"reason": "BRUCE: doubt remains"}, "2026-11-04T09:05:00+00:00")
    add("A-311", "capacity_review", {"result": "confirmed", "by": "carla", "name": "Carla Holm", "role": "care_team"},
        "2026-11-10T12:00:00+00:00")
    i18n.set_language("da")
    lines = [t for a in ("A-310", "A-311") for _, t in history_items(store.account_state(a, dt.date(2026, 11, 20)))]
    assert any("siden 3. november 2026" in t for t in lines), lines
    assert any("givet 3. november 2026, til 3. maj 2027" in t for t in lines), lines
    assert any("vurderet 10. november 2026" in t for t in lines), lines
    assert not any(re.search(r"\d{4}-\d{2}-\d{2}", t) for t in lines), lines


def test_wrap_up_after_blake_offers_neither_a_second_debrief_nor_the_care_team(qtbot, library, store):
    from callguide.engine.session import Account, CallSession
    from callguide.qt.call_window import CallWindow
    from tests.qt.driver import CallDriver

    s = CallSession.start(library, store, Account("A-400", "Sam Patel", "UK", None, "300"), "agent-7",
                          start_flow="blake")
    s.next(); s.next(); s.next("no-immediate-danger")  # noqa: E702
    while s.top.flow.id == "blake":
        s.next()
    assert s.top.flow.id == "wrap-up" and s.state.crisis
    w = CallWindow(s)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    d = CallDriver(qtbot, w)
    key(d, Qt.Key.Key_Return)  # Begin
    assert d.where == ("wrap-up", "summary")
    key(d, Qt.Key.Key_Return)
    assert d.where == ("wrap-up", "outcome")
    assert not d.choice_button("referred").isEnabled()  # BLAKE already referred: not offered again
    key(d, Qt.Key.Key_1, ALT)  # crisis call
    key(d, Qt.Key.Key_1, ALT)  # no further follow-up
    while s.stack:
        assert_focus_on_step(d)
        key(d, Qt.Key.Key_Return)
    assert d.w.pages.currentWidget() is d.w.wrap_panel
    assert len(d.entries("debrief_offered")) == 2  # BLAKE's and the wrap-up's, both in the journal ...
    follow = d.w.wrap_panel.follow.text()
    assert follow.count("debrief") == 1, follow  # ... said once to the agent
    key(d, Qt.Key.Key_C, ALT)
    key(d, Qt.Key.Key_Return, CTRL)
    assert s.ended
