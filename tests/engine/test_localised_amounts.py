"""Words the agent reads aloud (issue 11 §4): amounts and dates in the shipped flows' texts come out
in the call's language ("1.500,00 kr.", "3 800,00 Kč", "£230.00", "15. prosince 2026"), never as
"1500.00 DKK" or "2026-12-15". Every bundled flow test is run on the real engine and every text
the agent was shown (the journal's step_shown entries) is read."""

from __future__ import annotations

import re
from pathlib import Path

from callguide.engine.testing import find_test_files, run_test_file
from callguide.flow.loader import load_library
from callguide.store.sqlite import SQLiteJournal

ROOT = Path(__file__).resolve().parents[2]
RAW_MONEY = re.compile(r"-?\d+\.\d\d\s?(DKK|CZK|GBP)\b")
ISO_DATE = re.compile(r"\b20\d\d-\d\d-\d\d\b")
LOCAL = {"en": re.compile(r"£[\d,]+\.\d\d"), "da": re.compile(r"[\d.]+,\d\d\xa0kr\."),
         "cs": re.compile(r"[\d\xa0]+,\d\d\xa0Kč")}


def test_amounts_and_dates_in_every_shown_text_are_in_the_calls_language(tmp_path):
    lib, _ = load_library([ROOT / "flows"])
    for f in find_test_files([ROOT / "flows"]):
        assert all(r.ok for r in run_test_file(lib, f, None, tmpdir=tmp_path)), f
    bad: list[str] = []
    local = dict.fromkeys(LOCAL, 0)
    for db in sorted(tmp_path.glob("*.db")):
        with SQLiteJournal.open(db, readonly=True) as j:  # the shown texts are sealed: opened with the keys
            rows = [(e.flow_id, e.step_id, j.sealer.open_data(e.account_id, e.data))
                    for e in j.iter_entries() if e.type == "step_shown"]
        for flow, step, d in rows:
            for key in ("say", "guidance"):
                text = d.get(key) or ""
                bad += [f"{flow}/{step} {key} ({d.get('lang')}): {m.group(0)!r}"
                        for rx in (RAW_MONEY, ISO_DATE) for m in rx.finditer(text)]
                if d.get("lang") in LOCAL:
                    local[d["lang"]] += len(LOCAL[d["lang"]].findall(text))
    assert bad == []
    assert all(n >= 3 for n in local.values()), local  # amounts were shown, in each language's own form
