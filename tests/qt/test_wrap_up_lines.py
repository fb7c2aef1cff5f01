"""Every kind of thing a call records has its own line on the wrap-up and in the side column, in
English, Danish and Czech, never the raw entry words ("crisis", "contact_reason"). The protections a
call can record (crisis, dispute, a capacity review, a contact reason) are recorded by the real
engine on the real flows, then read back the way the window reads them."""

from __future__ import annotations

import pytest

from callguide.qt import i18n
from callguide.qt.wrap_up import _line, summary_items
from callguide.store import entry_types as et

pytestmark = pytest.mark.qt


@pytest.mark.parametrize("lang", ["en", "da", "cs"])
def test_every_summary_type_has_a_line_of_its_own(lang):
    i18n.set_language(lang)
    for kind in et.SUMMARY_TYPES:
        line = _line(kind, {})
        assert line and line != kind and "{" not in line, (lang, kind, line)


@pytest.fixture
def recorded(library, store):
    from callguide.engine.commands import Action
    from callguide.engine.session import Account, CallSession
    from callguide.identity import Person

    bo = Person("bo", "Bo Nielsen", frozenset({"agent", "care_team"}))
    s = CallSession.start(library, store, Account("A-7", "Jo Bloggs", "DK", None, "1000"), "bo", person=bo)
    for name, params in (("record_contact_reason", {"reason": "customer_request"}),
                         ("record_dispute", {"reason": "never had this loan"}),
                         ("flag_capacity_doubt", {}), ("clear_capacity_doubt", {"reason": "spoke with her"}),
                         ("emergency", {})):
        assert s.apply(Action(name, params)).ok, name
    return s


EXPECT = {
    "en": {et.CRISIS: "Crisis protection recorded", et.DISPUTE: "Debt disputed (never had this loan)",
           et.CAPACITY_REVIEW: "Capacity reviewed by Bo Nielsen (care team): capacity confirmed",
           et.CONTACT_REASON: "reason: The customer asked to be called at this time"},
    "da": {et.CRISIS: "Krisebeskyttelse registreret", et.DISPUTE: "Gælden bestridt (never had this loan)",
           et.CAPACITY_REVIEW: "Beslutningsevne vurderet af Bo Nielsen (kundepleje): beslutningsevne bekræftet",
           et.CONTACT_REASON: "begrundelse: Kunden har bedt om det"},
    "cs": {et.CRISIS: "Zaznamenána krizová ochrana", et.DISPUTE: "Dluh rozporován (never had this loan)",
           et.CAPACITY_REVIEW: "Způsobilost posoudil(a) Bo Nielsen (tým péče): způsobilost potvrzena",
           et.CONTACT_REASON: "důvod: Zákazník o to požádal"},
}


@pytest.mark.parametrize("lang", ["en", "da", "cs"])
def test_protections_recorded_on_the_call_read_as_sentences(recorded, lang):
    i18n.set_language(lang)
    lines = dict(summary_items(recorded.summary()))
    for kind, words in EXPECT[lang].items():
        assert words in lines[kind], (kind, lines[kind])
    review = recorded.summary()["items"][et.CRISIS][0]["review_date"]
    assert i18n.tr("sum.crisis", review="X").split("X")[0] in lines[et.CRISIS]
    assert review not in lines[et.CRISIS]  # the date as the language writes it, not ISO
