"""Signposts not checked for a long time are reported, as warnings (they still work)."""

from __future__ import annotations

import datetime as dt

from callguide.flow.loader import SIGNPOST_STALE_DAYS, load_signposts


def test_stale_entries_are_warned_with_their_line(tmp_path):
    old = (dt.date.today() - dt.timedelta(days=SIGNPOST_STALE_DAYS + 5)).isoformat()
    new = dt.date.today().isoformat()
    p = tmp_path / "signposts.yaml"
    p.write_text(f"""countries:
  UK:
    name: United Kingdom
    emergency: {{name: Emergency services, phone: "999", last_checked: {new}}}
    crisis:
      - {{name: Samaritans, phone: "116 123", last_checked: {old}}}
    debt_advice:
      - {{name: National Debtline, url: "https://www.nationaldebtline.org", last_checked: {new}}}
""", encoding="utf-8")
    data, diags = load_signposts(p)
    assert [(d.line, d.severity, d.rule) for d in diags] == [(6, "warning", "signposts")]
    assert "Samaritans" in diags[0].message and old in diags[0].message
    assert data["countries"]["UK"]["crisis"][0]["phone"] == "116 123"
