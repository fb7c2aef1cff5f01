"""The journal's entry types: one declaration each, the only place their names are spelled.

Each `declare(...)` gives a type's on-disk name (never changed: it is hashed into every entry), a
one-line meaning, the `data` keys it may carry, its sensitivity, and what reads it:

- `sensitivity`: `NONE`; `FIELD` (special-category data only when the entry says
  `sensitivity: special`, an answer to a special field: then its `value` and `input` are);
  `SPECIAL` (its `special_keys` always may hold special-category data: health, vulnerability, crisis,
  or free or rendered text that can quote them). `redacted_keys` is what the redacted export
  (`store.sqlite.redact_data`) and the team store's agent-readable rows replace today; a SPECIAL type
  whose special keys are not all redacted is listed by `UNREDACTED_SPECIAL` (they are sealed all the
  same: `store.sealing`).
- `personal_keys`: personal (not special-category) data: stored sealed under the account's personal
  key (`store.sealing`), so erasing the account leaves it unreadable. An answer to a field that is not
  special has its special keys sealed that way too. `reference_keys`: special keys that only repeat
  what other entries hold (the wrap-up summary, the history snapshot): written as references to
  those entries (`{"$ref": ...}`), never as copies, and never sealed themselves. Every other special
  key is sealed under the keys of the consent purposes it quotes (`store.sealing.sealed_keys`).
  `rendered_keys`: flow text rendered for the agent; the auditors' export shows it when it quotes no
  consented value (sealed under the personal key only), and redacts it otherwise. A rendered key the
  entry lists in `flow_text` is the flow's own text, word for word (a text with no template in it):
  it names nobody, so it is stored as it is (the pinned flow snapshot holds it anyway).
- `agent_input`: the entry may carry the agent's command (`data.input`), replayed on resume.
- `protection`: account protections are derived from it (`PROTECTION_TYPES`: what anyone who
  opens the account reads); `legacy_state`: read for protections only where the reader may see
  it (`LEGACY_STATE_TYPES`); `summary`: listed in the call's wrap-up summary (`SUMMARY_TYPES`).
- `written`: False for a type only older journals hold (read, never written any more).
- `relaxes`: the type can lift or loosen a protection for later calls (a closing review, a hold's end,
  a consent given): the store signs each such entry at its own seq, and the register counts one only
  when that signature (or the journal's signed grandfathering point) vouches for it
  (`RELAXING_TYPES`; docs/journal.md, "Relaxing entries are signed").

docs/journal.md's table of entry types lists exactly these (tests/store/test_entry_types.py).
Pure data: no imports beyond the standard library, no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

NONE: Final = "none"
FIELD: Final = "field"
SPECIAL: Final = "special"
SENSITIVITIES: Final = (NONE, FIELD, SPECIAL)


@dataclass(frozen=True)
class EntryType:
    name: str
    meaning: str
    keys: tuple[str, ...]
    sensitivity: str = NONE
    special_keys: tuple[str, ...] = ()
    redacted_keys: tuple[str, ...] = ()
    personal_keys: tuple[str, ...] = ()
    reference_keys: tuple[str, ...] = ()
    rendered_keys: tuple[str, ...] = ()
    agent_input: bool = False
    protection: bool = False
    legacy_state: bool = False
    summary: bool = False
    written: bool = True
    relaxes: bool = False

    @property
    def special(self) -> bool:
        """Whether the type can carry special-category data at all."""
        return self.sensitivity != NONE


REGISTRY: dict[str, EntryType] = {}


def declare(name: str, meaning: str, keys: tuple[str, ...], **kw: object) -> str:
    """Declare one entry type; returns its name (the constant the code uses)."""
    t = EntryType(name, meaning, keys, **kw)  # type: ignore[arg-type]
    if name in REGISTRY:
        raise ValueError(f"entry type {name!r} declared twice")
    if t.sensitivity not in SENSITIVITIES:
        raise ValueError(f"entry type {name!r}: unknown sensitivity {t.sensitivity!r}")
    if (t.sensitivity == NONE) != (not t.special_keys):
        raise ValueError(f"entry type {name!r}: special_keys go with a FIELD or SPECIAL sensitivity")
    if not set(t.special_keys) <= set(keys) or not set(t.redacted_keys) <= set(t.special_keys):
        raise ValueError(f"entry type {name!r}: special keys must be data keys, redacted keys special ones")
    if not set(t.personal_keys) <= set(keys) or not set(t.reference_keys) <= set(t.special_keys):
        raise ValueError(f"entry type {name!r}: personal keys must be data keys, reference keys special ones")
    if t.agent_input and "input" not in keys:
        raise ValueError(f"entry type {name!r}: an agent input carries `input`")
    REGISTRY[name] = t
    return name


#: A reason the agent typed (`flow.actions.free_text_params`): sealed under the consent the gate's
#: word check needed (`consent`, a withdrawal shreds it), or under the consent of an answer it
#: quotes, else the personal key; the auditors see it only when it is under the personal key.
_TYPED_REASON: Final = {"sensitivity": SPECIAL, "special_keys": ("reason",), "rendered_keys": ("reason",)}

# ---------------------------------------------------------------------- the call's frame

CALL_STARTED: Final = declare(
    "call_started", "the call opens (the account, the agent, the pinned flows, the history shown)",
    ("account", "start_flow", "lang", "practice", "auto_wrap_up", "person", "flows", "history", "contact"),
    sensitivity=SPECIAL, special_keys=("history",), reference_keys=("history",), personal_keys=("account",),
    protection=True)
CONTACT_TIME: Final = declare(
    "contact_time", "the call started or was resumed outside the customer's permitted contact hours",
    ("allowed", "local_time", "weekday", "window", "zone", "review_needed"))
CALL_RESUMED: Final = declare(
    "call_resumed", "a killed call was rebuilt from the journal and goes on", ("flow", "step"))
PROTECTIONS_RECEIVED: Final = declare(
    "protections_received", "protections raised, or consents withdrawn, elsewhere on the account reached the "
    "running call (team mode: the team store; a desktop: another process wrote to the journal): what was new, "
    "the consents that ended, and the account's register as read; a resume applies them again at the same point",
    ("raised", "history", "consents_ended"), sensitivity=SPECIAL, special_keys=("history",))
CALL_ENDED: Final = declare(
    "call_ended", "the agent confirmed wrap-up, or an unfinished call was closed as abandoned",
    ("outcome", "summary", "open_protocols", "input", "abandoned", "reason", "last_activity"),
    sensitivity=SPECIAL, special_keys=("summary",), reference_keys=("summary",), agent_input=True, protection=True)

# ---------------------------------------------------------------------- steps and commands

STEP_SHOWN: Final = declare(
    "step_shown", "a step is shown to the agent (its rendered text: what the auditor sees); after a plain Next, "
    "it also carries the Next (`input`) and the step it committed (`committed`), one entry instead of a "
    "`step_committed` and a `step_shown`",
    ("kind", "say", "guidance", "lang", "resumed", "flow_text", "committed", "input"), sensitivity=SPECIAL,
    special_keys=("say", "guidance"), rendered_keys=("say", "guidance"), agent_input=True)
ANSWER: Final = declare(
    "answer", "a field value is committed", ("field", "value", "redacted", "sensitivity", "consent", "input"),
    sensitivity=FIELD, special_keys=("value", "input"), redacted_keys=("value", "input"), agent_input=True)
STEP_COMMITTED: Final = declare(
    "step_committed", "Next taken where more than the next step follows (actions, an outcome, a block), or a "
    "hand-over step ran by itself", ("choice", "to", "auto", "input"),
    agent_input=True)
BACK: Final = declare(
    "back", "the agent went back", ("steps", "from", "to", "retracted", "side_effects_kept", "input"), agent_input=True)
CONSENT: Final = declare(
    "consent", "a consent decision, with the wording the customer heard",
    ("purpose", "decision", "wording", "wording_hash", "wording_lang", "covers", "by", "expires", "input"),
    agent_input=True, protection=True, summary=True, relaxes=True)
CONSENT_WITHDRAWN: Final = declare(
    "consent_withdrawn", "a consent withdrawn (on this call or any later one)",
    ("purpose", "given_on_call", "shredded", "kept", "input"), agent_input=True, protection=True, summary=True)
INTERRUPT: Final = declare(
    "interrupt", "the agent pushed a protocol", ("protocol", "from_flow", "from_step", "input"), agent_input=True)
GLOBAL_ACTION: Final = declare(
    "global_action", "an escalation-bar action (its own entry follows)", ("name", "params", "consent", "input"),
    sensitivity=SPECIAL, special_keys=("params", "input"),
    agent_input=True)  # params can hold a typed reason: sealed under the `consent` it needed, else personal
OUTCOME: Final = declare(
    "outcome", "the call's outcome was set", ("code", "input"), agent_input=True, protection=True, summary=True)
LANGUAGE_CHANGED: Final = declare(
    "language_changed", "the agent switched the call's language", ("lang", "input"), agent_input=True)
NOTE: Final = declare(
    "note", "a free-text note by the agent (`purpose`, `special`: saved under that consent, special-category)",
    ("text", "purpose", "special", "input"),
    sensitivity=SPECIAL, special_keys=("text", "input"), agent_input=True, summary=True)
FLAG: Final = declare(
    "flag", "an agent flags a step's wording for the trainers",
    ("comment", "flow_id", "step_id", "flow_version", "input"), agent_input=True)

# ---------------------------------------------------------------------- protocols and the gate

PROTOCOL_STARTED: Final = declare(
    "protocol_started", "a protocol frame starts", ("protocol", "version", "cause", "over"))
PROTOCOL_ENDED: Final = declare(
    "protocol_ended", "a protocol frame is popped", ("protocol", "outcome", "resumes", "blocked"))
BLOCKED: Final = declare(
    "blocked", "the gate refused something, or did not show a step",
    ("action", "rule", "reason", "rerouted"), summary=True)
FLOW_PROBLEM: Final = declare(
    "flow_problem", "a flow's text or condition could not be worked out at run time (a limit or a mistake): "
    "the text showed one line instead, the condition counted as not met", ("what", "where", "limit", "reason", "lang"),
    sensitivity=SPECIAL, special_keys=("reason",), rendered_keys=("reason",),
    summary=True)  # a reason can quote an answer: sealed (under its consent when it quotes a consented value)
CONTACT_REASON: Final = declare(
    "contact_reason", "the agent recorded why the call goes on outside the contact hours",
    ("reason", "local_time", "window"), summary=True)

# ---------------------------------------------------------------------- actions and protections

ESCALATION: Final = declare(
    "escalation", "a care-team referral, a supervisor alert or an emergency",
    ("kind", "reason", "number", "service", "country", "consent"), sensitivity=SPECIAL, special_keys=("reason",),
    legacy_state=True, summary=True)
HOLD_STARTED: Final = declare(
    "hold_started", "a hold on collection starts", ("days", "until", "reason", "consent"), **_TYPED_REASON,
    protection=True, summary=True)  # a reason can say why ("Mental-health crisis hold"): sealed
HOLD_ENDED: Final = declare(
    "hold_ended", "a hold ends (a reason is required)", ("reason", "by", "consent"), **_TYPED_REASON,
    protection=True, summary=True, relaxes=True)
COLLECTION_BLOCKED: Final = declare(
    "collection_blocked", "collection blocked on the account", ("reason",), protection=True, summary=True)
COLLECTION_UNBLOCKED: Final = declare(
    "collection_unblocked", "collection unblocked on the account", ("reason",))
CALLBACK: Final = declare(
    "callback", "a callback scheduled", ("due", "reason", "consent"), **_TYPED_REASON, protection=True,
    summary=True)
SMS_SURVEY: Final = declare(
    "sms_survey", "an SMS survey queued (needs its consent)", ("queued",), summary=True)
VULNERABILITY: Final = declare(
    "vulnerability", "a vulnerability record (only consented special fields)",
    ("fields", "category", "review_date", "consent"), sensitivity=SPECIAL, special_keys=("fields", "category"),
    redacted_keys=("fields", "category"), protection=True, summary=True)
DISCLOSURE: Final = declare(
    "disclosure", "a disclosure was made but the consent to record it declined (no detail at all)",
    ("review_date", "consent"), protection=True, summary=True)
ADJUSTMENT: Final = declare(
    "adjustment", "a reasonable adjustment recorded", ("fields", "review_date"),
    sensitivity=SPECIAL, special_keys=("fields",), protection=True, summary=True)
CAPACITY_DOUBT: Final = declare(
    "capacity_doubt", "a doubt about the customer's capacity to decide", ("reason", "consent"),
    sensitivity=SPECIAL, special_keys=("reason",), protection=True, summary=True)
CAPACITY_REVIEW: Final = declare(
    "capacity_review", "a specialist review of a capacity doubt",
    ("result", "meaning", "by", "name", "role", "note", "consent"), sensitivity=SPECIAL, special_keys=("note",),
    protection=True, summary=True, relaxes=True)
CAPACITY_DOUBT_CLEARED: Final = declare(
    "capacity_doubt_cleared", "older journals only; no longer closes a doubt", ("reason",), written=False)
CRISIS: Final = declare(
    "crisis", "the first crisis protection on a call (BLAKE, an emergency)", ("reason", "review_date"),
    protection=True, summary=True)  # its reason is the engine's code (emergency, crisis), never free text
CRISIS_REVIEW: Final = declare(
    "crisis_review", "a review of a crisis protection",
    ("result", "meaning", "review_date", "by", "name", "role", "note"), sensitivity=SPECIAL,
    special_keys=("note",), protection=True, relaxes=True)
DISPUTE: Final = declare(
    "dispute", "the customer disputes the debt", ("reason", "consent"), **_TYPED_REASON, protection=True,
    summary=True)
DISPUTE_REVIEW: Final = declare(
    "dispute_review", "a review of a dispute", ("result", "meaning", "by", "name", "role", "note"),
    personal_keys=("note",), protection=True, relaxes=True)
THIRD_PARTY: Final = declare(
    "third_party", "an authorised third party recorded", ("fields",), sensitivity=SPECIAL, special_keys=("fields",),
    protection=True, summary=True)
ARRANGEMENT: Final = declare(
    "arrangement", "a payment arrangement recorded", ("fields", "currency"), sensitivity=SPECIAL,
    special_keys=("fields",), summary=True)
SIGNPOST: Final = declare(
    "signpost", "the customer was signposted to help", ("kind", "country", "entries"), summary=True)
# ---------------------------------------------------------------------- privacy (docs/journal.md, "Sealed values")

ERASURE: Final = declare(
    "erasure", "an account's personal and special-category data erased: its data keys destroyed (a tombstone)",
    ("reason", "by", "role", "keys", "purposes"), protection=True)
RETENTION_PURGE: Final = declare(
    "retention_purge", "data keys destroyed by the retention schedule (resources/retention.yaml)",
    ("rule", "reason", "keys", "purposes", "last_contact", "by"))
DEBRIEF_OFFERED: Final = declare(
    "debrief_offered", "a debrief offered to the agent", (), summary=True)

# ---------------------------------------------------------------------- the console (supervisors, care team)
# Written by the console's own stream (callguide/team/console.py) about an `escalation` of another
# desktop: `ref` names it ("desktop/seq"), `ref_hash` is its entry hash; call_id and account_id are
# the escalation's. The team store accepts them only from a supervisor or care-team member writing
# as themselves (migration 0004).

ESCALATION_ACKNOWLEDGED: Final = declare(
    "escalation_acknowledged", "a supervisor or the care team acknowledged an escalation (the agent is told)",
    ("ref", "ref_hash", "kind", "by", "name", "role"))
ESCALATION_ASSIGNED: Final = declare(
    "escalation_assigned", "an escalation assigned to a person", ("ref", "ref_hash", "kind", "by", "name", "to",
                                                                   "to_name"))
ESCALATION_NOTE: Final = declare(
    "escalation_note", "a note on an escalation (may quote the customer)", ("ref", "ref_hash", "kind", "by", "name",
                                                                            "text"),
    sensitivity=SPECIAL, special_keys=("text",))
ESCALATION_RESOLVED: Final = declare(
    "escalation_resolved", "an escalation resolved (what was done)", ("ref", "ref_hash", "kind", "by", "name", "note"),
    sensitivity=SPECIAL, special_keys=("note",))


# ---------------------------------------------------------------------- derived lists

def _names(pick: object) -> tuple[str, ...]:
    return tuple(n for n, t in REGISTRY.items() if pick(t))  # type: ignore[operator]


#: Every declared type, in declaration order.
ALL_TYPES: tuple[str, ...] = tuple(REGISTRY)
#: The types account protections are derived from: what anyone who opens the account may read.
PROTECTION_TYPES: tuple[str, ...] = _names(lambda t: t.protection)
#: Read for protections only where the reader may see them (an emergency `escalation` written before
#: crises had their own `crisis` entry).
LEGACY_STATE_TYPES: tuple[str, ...] = _names(lambda t: t.legacy_state)
#: Every type account_state reads; stores filter on these.
STATE_TYPES: tuple[str, ...] = PROTECTION_TYPES + LEGACY_STATE_TYPES
#: The types that can lift or loosen a protection for later calls (`relaxes=True`): signed at their own
#: seq by the store, counted by the register only when signed (`derive.relaxes`).
RELAXING_TYPES: tuple[str, ...] = _names(lambda t: t.relaxes)
#: The types the wrap-up summary lists.
SUMMARY_TYPES: tuple[str, ...] = _names(lambda t: t.summary)
#: The types that may carry the agent's command, replayed on resume.
AGENT_INPUT_TYPES: tuple[str, ...] = _names(lambda t: t.agent_input)
#: The types that may carry special-category data (sensitivity FIELD or SPECIAL).
SPECIAL_TYPES: tuple[str, ...] = _names(lambda t: t.special)
#: Per type, the data keys the redacted export replaces whatever the entry says (vulnerability).
REDACTED_KEYS: dict[str, tuple[str, ...]] = {n: t.redacted_keys for n, t in REGISTRY.items()
                                              if t.sensitivity == SPECIAL and t.redacted_keys}
#: The keys redacted in any entry whose data says `sensitivity: special` (an answer to a special field).
FIELD_REDACTED_KEYS: tuple[str, ...] = tuple(dict.fromkeys(
    k for t in REGISTRY.values() if t.sensitivity == FIELD for k in t.redacted_keys))
#: Special-category keys the redaction list does not name (sealed all the same: `store.sealing`; the
#: auditors' export redacts every special key, `sealing.auditor_data`).
UNREDACTED_SPECIAL: dict[str, tuple[str, ...]] = {
    n: tuple(k for k in t.special_keys if k not in t.redacted_keys) for n, t in REGISTRY.items()
    if set(t.special_keys) - set(t.redacted_keys)}
#: Per type, the keys holding personal (not special) data, sealed under the account's personal key.
PERSONAL_KEYS: dict[str, tuple[str, ...]] = {n: t.personal_keys for n, t in REGISTRY.items() if t.personal_keys}
#: Per type, the special keys that carry references to other entries' values, never copies.
REFERENCE_KEYS: dict[str, tuple[str, ...]] = {n: t.reference_keys for n, t in REGISTRY.items() if t.reference_keys}
#: The types that may hold a sealed value.
SEALED_TYPES: tuple[str, ...] = _names(lambda t: set(t.special_keys) - set(t.reference_keys) or t.personal_keys)
#: Types only older journals hold.
LEGACY_ONLY_TYPES: tuple[str, ...] = _names(lambda t: not t.written)


def entry_type(name: str) -> EntryType:
    """The declaration of `name`; KeyError for a type nobody declared."""
    return REGISTRY[name]


def sql(name: str) -> str:
    """`name` as an SQL string literal (`'call_ended'`), for statements that must keep the literal in
    their text (a partial index's predicate is matched against it, a bound parameter is not)."""
    if name not in REGISTRY or not name.replace("_", "").isalpha() or not name.islower():
        raise ValueError(f"not a declared entry type: {name!r}")
    return f"'{name}'"
