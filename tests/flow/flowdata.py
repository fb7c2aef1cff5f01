"""Small valid flows for the flow-language tests, and a helper to write them."""

from __future__ import annotations

import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

TEXAS = """\
schema: callguide/flow@1
id: texas
version: "1.0.0"
priority: texas
title: {en: "TEXAS", da: "TEXAS"}
description: {en: "A disclosure and consent to record it", da: "En oplysning"}
languages: [en, da]
start: thank
interrupts:
  - {id: disclosure, protocol: texas, hotkey: F2, label: {en: "Health or life event", da: "Helbred"}}
invariants:
  - {id: outcomes, kind: ends_in_outcome}
  - {id: consent-first, kind: consent_before_special}
  - {id: texas-one-away, kind: one_action_away, protocol: texas}
steps:
  - id: thank
    kind: say
    say: {en: "Thank you for telling me, {{ account.name }}", da: "Tak fordi du fortalte mig det"}
    guidance: {id: texas.thank.tip, en: "Acknowledge", da: "Anerkend"}
    next: ask-consent
  - id: ask-consent
    kind: consent
    consent:
      purpose: health_disclosure
      wording: {en: "Are you happy for me to note that?", da: "Må jeg notere det?"}
      covers: [category, impact]
    transitions:
      - {to: ask, when: "consent.health_disclosure"}
      - {to: declined}
  - id: ask
    kind: capture
    fields:
      - id: category
        type: choice
        label: {en: "Category", da: "Kategori"}
        sensitivity: special
        consent: health_disclosure
        choices:
          - {value: health, label: {en: "Health", da: "Helbred"}}
          - {value: life_event, label: {en: "Life event", da: "Livsbegivenhed"}}
      - id: impact
        type: text
        label: {en: "Impact", da: "Påvirkning"}
        help: {en: "In the customer's words", da: "Med kundens ord"}
        sensitivity: special
        consent: health_disclosure
        visible_when: "category == 'health'"
    next: more
  - id: more
    kind: ask
    say: {en: "Is there more?", da: "Er der mere?"}
    transitions:
      - {id: idea, label: {en: "Go deeper", da: "Gå i dybden"}, to: deeper}
      - {id: done, label: {en: "Done", da: "Færdig"}, to: recorded}
  - id: deeper
    kind: action
    actions:
      - start_protocol: {flow: idea}
    next: recorded
  - id: declined
    kind: action
    actions:
      - record_disclosure: {review_in_days: 90}
    next: declined-end
  - {id: declined-end, kind: outcome, outcome: declined}
  - id: recorded
    kind: outcome
    outcome: recorded
    actions:
      - record_vulnerability: {fields: [category, impact], review_in_days: 90}
"""

IDEA = """\
schema: callguide/flow@1
id: idea
version: "1.0.0"
priority: idea
title: {en: "IDEA", da: "IDEA"}
description: {en: "Understanding the situation", da: "Forstå situationen"}
languages: [en, da]
start: impact
steps:
  - {id: impact, kind: say, say: {en: "What is hard?", da: "Hvad er svært?"}, next: duration}
  - id: duration
    kind: capture
    fields:
      - {id: months, type: number, label: {en: "Months", da: "Måneder"}, min: 0, max: 600}
    next: check
  - id: check
    kind: decision
    transitions:
      - {to: long, when: "months > 6"}
      - {to: short}
  - {id: long, kind: outcome, outcome: long_term}
  - {id: short, kind: outcome, outcome: short_term}
"""


def write(dirpath: Path, name: str, text: str) -> Path:
    p = dirpath / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p

