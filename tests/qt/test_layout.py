"""Nothing cut off, at the size a contact centre's thin client gives (1366x768) and with large
text, in English, Danish and Czech: each main state of the call window is rendered to PNG
(tests/qt/screenshots/layout/, or $CALLGUIDE_SHOTS) for a person to look at, and checked for
text wider or taller than its widget and widgets outside their parent's visible area."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QLabel

from tests.qt.clipping import clipped
from tests.qt.test_calls import open_to_affordability
from tests.qt.test_screens import seed_history

pytestmark = pytest.mark.qt

SIZE = (1366, 768)
SIZES = [(960, 640), (1366, 768)]  # the window's smallest size, and a contact centre's thin client
LANGS = [("en", "UK", "Sam Patel"), ("da", "DK", "Kim Larsen"), ("cs", "CZ", "Petra Nováková")]


def _check(widget, shots, name: str, problems: dict[str, list[str]]) -> None:
    for _ in range(3):
        QApplication.processEvents()
    img = widget.grab()
    assert not img.isNull() and img.save(str(shots / f"{name}.png"))
    found = clipped(widget)
    if found:
        problems[name] = found


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
@pytest.mark.parametrize("lang,country,name", LANGS, ids=[x[0] for x in LANGS])
def test_nothing_is_cut_off(open_window, library, store, shots_dir, lang, country, name, large, size):
    shots = shots_dir / "layout"
    shots.mkdir(exist_ok=True)
    tag = f"{size[0]}_{lang}{'_large' if large else ''}"
    problems: dict[str, list[str]] = {}
    seed_history(library, store)  # an earlier call: the banner and the side column have history
    d = open_window(account_id="A-500", name=name, country=country, lang=lang, balance="1234.50", large_text=large)
    d.w.resize(*size)
    _check(d.w, shots, f"{tag}_1_banner", problems)
    open_to_affordability(d)
    d.fill_all({"employment": "employed", "finance_difficulty": False})
    d.next()
    d.fill("income", "12x")
    d.next()  # an inline message under the field
    _check(d.w, shots, f"{tag}_2_income_message", problems)
    d.fill("income", "2000")
    d.next()
    assert d.where == ("affordability", "priority")
    last = d.panel._rows["priority_arrears"].radios[0]
    assert d.panel._rows["rent"].edit.hasFocus()
    for _ in range(4):  # Enter from field to field: the 5th is scrolled into view
        d.press(Qt.Key.Key_Return)
    assert last.hasFocus()
    QApplication.processEvents()
    viewport = d.panel.scroll.viewport()
    top = last.mapTo(viewport, last.rect().topLeft()).y()
    assert 0 <= top and top + last.height() <= viewport.height(), (top, viewport.height())
    _check(d.w, shots, f"{tag}_3_priority_fields", problems)
    d.press(Qt.Key.Key_F2)
    d.next()  # the earlier call's consent is still in force: TEXAS says so instead of asking again
    assert d.where == ("texas", "consent-in-force")
    _check(d.w, shots, f"{tag}_4_consent_in_force", problems)
    d.press(Qt.Key.Key_F5)  # BLAKE: every other quick-start shows its reason under it
    _check(d.w, shots, f"{tag}_5_blake_bar_reasons", problems)
    d.next()
    d.next()
    d.choose("immediate-danger")
    _check(d.w, shots, f"{tag}_6_blake_location", problems)
    d.press(Qt.Key.Key_F8)
    _check(d.w, shots, f"{tag}_7_emergency", problems)
    d.press(Qt.Key.Key_Escape)
    d.press(Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    _check(d.w, shots, f"{tag}_8_wrap_up", problems)
    assert not problems, "\n".join(f"{k}: {p}" for k, ps in problems.items() for p in ps)


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
@pytest.mark.parametrize("lang", ["en", "da", "cs"])
def test_dialogs_are_not_cut_off(qtbot, library, store, shots_dir, lang, large):
    from callguide.engine.session import Account, CallSession
    from callguide.qt import i18n, style
    from callguide.qt.dialogs import ResumeDialog, StartDialog

    shots = shots_dir / "layout"
    shots.mkdir(exist_ok=True)
    i18n.set_language(lang)
    style.apply(large)
    try:
        for n, who in enumerate(("Maria Kristensen-Østergaard", "Petra Nováková")):
            s = CallSession.start(library, store, Account(f"A-{900 + n}", who, "DK"), "agent-7")
            s.answer({"identity_check": "confirmed"})
            s.next()
        problems: dict[str, list[str]] = {}
        for dlg, name in ((ResumeDialog(store.unfinished_calls()), "resume"), (StartDialog({}), "start")):
            qtbot.addWidget(dlg)
            dlg.show()
            qtbot.waitExposed(dlg)
            _check(dlg, shots, f"{lang}{'_large' if large else ''}_dialog_{name}", problems)
            dlg.done(QDialog.DialogCode.Rejected)
        assert not problems, "\n".join(f"{k}: {p}" for k, ps in problems.items() for p in ps)
    finally:
        style.apply(False)


def test_the_checker_finds_what_the_trial_saw(qtbot):
    """The checker itself: a chip too narrow for "SIDSTE OPKALD", a button narrower than its text,
    a widget hanging out of its parent, and a list row cut off, as the trial found them."""
    from PySide6.QtWidgets import QListWidget, QPushButton, QVBoxLayout, QWidget

    root = QWidget()
    qtbot.addWidget(root)
    root.resize(300, 200)
    chip = QLabel("SIDSTE OPKALD", root)
    chip.setGeometry(0, 0, 40, 20)
    button = QPushButton("Lad den ligge, start ny samtale", root)
    button.setGeometry(0, 30, 60, 30)
    inner = QWidget(root)
    inner.setGeometry(250, 150, 100, 100)
    QVBoxLayout(inner)
    lst = QListWidget(root)
    lst.setGeometry(0, 70, 120, 60)
    lst.addItem("Maria Kristensen-Østergaard · sag A-900 · startet 2026-11-25 16:37")
    root.show()
    qtbot.waitExposed(root)
    found = clipped(root)
    assert any("SIDSTE OPKALD" in p and "wide" in p for p in found), found
    assert any("Lad den ligge" in p and "needs" in p for p in found), found
    assert any("outside its parent" in p for p in found), found
    assert any("row 0" in p for p in found), found


def test_the_call_bar_keeps_its_height_when_reasons_appear(open_window):
    d = open_window(country="DK", lang="da")
    d.w.resize(*SIZE)
    QApplication.processEvents()
    bar = d.w.call_bar
    d.begin()
    QApplication.processEvents()
    before = (bar.height(), bar.y())
    d.press(Qt.Key.Key_F5)  # BLAKE: a reason appears under TEXAS, BRUCE, HARMED and BLAKE
    QApplication.processEvents()
    assert [c.slot.text() for c in bar.interrupt_cells.values()].count("Afslut BLAKE først.") >= 2
    assert (bar.height(), bar.y()) == before  # same height, same place: nothing above it jumps
    d.press(Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    d.press(Qt.Key.Key_C, Qt.KeyboardModifier.AltModifier)
    d.press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert d.session.ended
    QApplication.processEvents()
    assert all(c.slot.text() == "Samtalen er afsluttet." for c in bar.escalation_cells.values())
    assert (bar.height(), bar.y()) == before


def _inside_window(w, window) -> bool:
    top_left = w.mapTo(window, w.rect().topLeft())
    return window.rect().contains(top_left) and \
        window.rect().contains(w.mapTo(window, w.rect().bottomRight()))


@pytest.mark.parametrize("lang,country,name", LANGS[1:], ids=[x[0] for x in LANGS[1:]])
def test_large_text_at_960_by_keys(open_window, library, store, shots_dir, lang, country, name):
    """Danish and Czech, large text, the smallest window: the escalations stay on screen and whole,
    the side column's buttons stay inside it, and the keys still walk the window (Enter begins,
    Tab walks the step, the side column, the header; F6 refers; Ctrl+Shift+W wraps up)."""
    from tests.qt.test_field_trial import focus, key

    shots = shots_dir / "layout"
    shots.mkdir(exist_ok=True)
    seed_history(library, store)
    d = open_window(account_id="A-500", name=name, country=country, lang=lang, balance="1234.50", large_text=True)
    d.w.resize(960, 640)
    QApplication.processEvents()
    key(d, Qt.Key.Key_Return)  # Enter on the banner: the call begins
    assert d.where == ("call-opening", "identity")
    d.fill("identity_check", "confirmed")
    d.next()
    d.next()
    d.next()  # recording
    assert d.where == ("call-opening", "readback")
    d.fill_all({"adjustments_on_file": False, "vulnerability_on_file": False})
    d.next()
    d.next()
    d.next()
    d.fill_all({"employment": "employed", "finance_difficulty": False})
    d.next()
    d.fill("income", "2000")
    d.next()
    assert d.where == ("affordability", "priority")
    for _ in range(3):
        QApplication.processEvents()
    d.w.split.setSizes([10000, 1])  # the side column at its narrowest
    QApplication.processEvents()
    side = d.w.side
    assert side.width() >= side.minimumWidth() > 260
    rows = d.panel._rows
    expected = [rows["rent"].edit, rows["energy"].edit, rows["council_tax"].edit, rows["other_priority"].edit,
                rows["priority_arrears"].radios[0], d.panel.back_button, d.panel.next_button,
                *side.tab_chain(), d.w.lang_button, d.w.large_check, d.w.wrap_button]
    assert side.note_button in expected and side.flag_button in expected
    assert focus() is expected[0]
    walked = []
    for _ in range(len(expected)):
        walked.append(focus())
        key(d, Qt.Key.Key_Tab)
    assert walked == expected and focus() is expected[0]
    for b in (side.note_button, side.flag_button):  # each reached by Tab: shown inside the column, whole
        side.ensureWidgetVisible(b)
        QApplication.processEvents()
        right = b.mapTo(side.viewport(), b.rect().topRight()).x()
        assert right <= side.viewport().width(), (b.text(), right, side.viewport().width())
    bar = d.w.call_bar
    for cell in [*bar.interrupt_cells.values(), *bar.escalation_cells.values()]:
        b = cell.button
        assert b.isVisible() and _inside_window(b, d.w), b.text()
        assert b.sizeHint().width() <= b.width() + 2, (b.text(), b.sizeHint().width(), b.width())
    for w in (d.w.customer, d.w.account_line, d.w.wrap_button):
        assert _inside_window(w, d.w), w.text()
    assert d.w.account_line.accessibleName() == d.w.account_line.text() == d.w.account_line.toolTip()
    problems = clipped(d.w)
    assert not problems, problems
    assert d.w.grab().save(str(shots / f"960_{lang}_large_keys_side_narrowest.png"))
    key(d, Qt.Key.Key_F6)  # the care referral starts from its F-key
    assert d.view.flow_id == "care-referral"
    key(d, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert focus() is d.w.wrap_panel.confirm
    QApplication.processEvents()
    assert _inside_window(d.w.wrap_panel.close_button, d.w)
    problems = clipped(d.w)
    assert not problems, problems


def test_fit_button_wraps_then_elides_and_the_checker_wants_the_full_text(qtbot):
    """`FitButton`: narrower than one line, its text wraps at spaces ("Přidat poznámku" over
    "Alt+A", every word shown, the button taller); narrower than a word, that word is elided and
    the full text is its tooltip. The
    checker passes both, and fails a shortened button or label that hides the full text."""
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from callguide.qt import style
    from callguide.qt.widgets import FitButton, FitLabel

    style.apply(True)
    try:
        root = QWidget()
        qtbot.addWidget(root)
        col = QVBoxLayout(root)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSizeConstraint(QVBoxLayout.SizeConstraint.SetNoConstraint)  # narrower than its longest word
        full = "Přidat poznámku    Alt+A"
        b = FitButton(full)
        lab = FitLabel("Maria Kristensen-Østergaard")
        col.addWidget(b)
        col.addWidget(lab)
        col.addStretch(1)
        root.show()
        qtbot.waitExposed(root)
        one_line = b.sizeHint().width()
        root.resize(one_line + 20, 300)
        QApplication.processEvents()
        assert b.shown_text() == full and b.toolTip() == "" and clipped(root) == []
        root.resize(one_line - 40, 300)
        QApplication.processEvents()
        assert b.shown_text() == "Přidat poznámku\nAlt+A" and b.text() == full
        assert b.height() >= b.heightForWidth(b.width()) - 2  # taller: both lines shown
        assert b.toolTip() == "" and b.accessibleName() == "Přidat poznámku Alt+A"  # every word is shown
        assert clipped(root) == []
        root.resize(b.minimumSizeHint().width() - 30, 300)
        QApplication.processEvents()
        assert "\u2026" in b.shown_text() and b.toolTip() == full
        assert "\u2026" in lab.shown_text() and lab.toolTip() == lab.text() == lab.accessibleName()
        assert clipped(root) == []
        b.setToolTip("")
        lab.setToolTip("")
        found = clipped(root)
        assert any("FitButton" in p and "tooltip" in p for p in found), found
        assert any("FitLabel" in p and "tooltip" in p for p in found), found
    finally:
        style.apply(False)


@pytest.mark.parametrize("lang,country", [("da", "DK"), ("cs", "CZ")])
def test_a_long_name_and_account_in_the_header_at_960_large(qtbot, shots_dir, lang, country):
    """The header at its narrowest: a long name is elided with the full name in its tooltip and
    accessible name, the account line wraps, the wrap-up button is whole and no taller than its lines."""
    from callguide.qt.call_window import CallWindow

    name = "Maria Kristensen-Østergaard Villadsen-Høj"
    w = CallWindow(None, account={"account_id": "A-2026-000123456", "name": name, "country": country,
                                  "balance": "123456.78"}, large_text=True)
    qtbot.addWidget(w)
    w.resize(960, 640)
    w.show()
    qtbot.waitExposed(w)
    for _ in range(3):
        QApplication.processEvents()
    try:
        assert w.customer.text() == w.customer.toolTip() == w.customer.accessibleName() == name
        assert w.customer.shown_text().endswith("\u2026")
        assert w.account_line.heightForWidth(w.account_line.width()) <= w.account_line.height() + 2
        assert w.account_line.toolTip() == w.account_line.accessibleName() == w.account_line.text()
        assert _inside_window(w.wrap_button, w)
        assert w.wrap_button.height() <= w.wrap_button.heightForWidth(w.wrap_button.width()) + 2
        shots = shots_dir / "layout"
        shots.mkdir(exist_ok=True)
        assert w.grab().save(str(shots / f"960_{lang}_large_long_name.png"))
        assert clipped(w) == []
    finally:
        from callguide.qt import style

        style.apply(False)
