"""The action registry: every action name a flow may use, with a JSON Schema for its params.

The validator checks flows against it (`unknown-action`, `bad-action-params`) and the engine
imports it to know what it must implement. Data only: never import Qt, the engine or the store.

Each entry is ``name -> {"doc": one-line description, "params": JSON Schema of the params}``, and
``"free_text": (param, ...)`` for the params a person types (the agent's reason for a hold, a
dispute, an escalation): the gate checks what an agent typed there with the same word lists and
rule as a note (`engine.policy.reason_refusal`). A flow's own template for such a param is the
trainers' text, not checked. ``"clear_text": True``: the action's entry keeps that text in clear (a
collection block's label, repeated in every refusal), so no consent can cover a matching one. An action written as a bare name has the params ``{}``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

_TEMPLATE = {"type": "string", "minLength": 1, "description": "text (a template over the call's names)"}
_DAYS = {"type": "integer", "minimum": 0, "maximum": 3650, "description": "a number of days"}
_FIELD_LIST = {"type": "array", "items": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}, "minItems": 1,
               "description": "field ids whose captured values go into the record"}
_ID = {"type": "string", "pattern": "^[a-z][a-z0-9_-]*$"}
SIGNPOST_KINDS = ("emergency", "crisis", "debt_advice", "health")
#: Escalations: never refused for what their typed reason says (docs/engine.md, "Typed reasons").
ESCALATIONS = frozenset({"refer_care_team", "alert_supervisor", "emergency"})


def _params(props: dict[str, Any] | None = None, required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": dict(props or {}), "required": list(required),
            "additionalProperties": False}


ACTION_SPECS: dict[str, dict[str, Any]] = {
    "refer_care_team": {"doc": "Refer the customer to the customer care team (referral recorded).",
                        "params": _params({"reason": _TEMPLATE}), "free_text": ("reason",)},
    "alert_supervisor": {"doc": "Escalate to a supervisor (escalation recorded).",
                         "params": _params({"reason": _TEMPLATE}), "free_text": ("reason",)},
    "emergency": {"doc": "Emergency escalation with the account country's emergency number (signposts).",
                  "params": _params({"reason": _TEMPLATE}), "free_text": ("reason",)},
    "start_hold": {"doc": "Put the account on hold until today+days; blocks collection while active.",
                   "params": _params({"days": _DAYS, "reason": _TEMPLATE}, ("days",)),
                   "free_text": ("reason",)},
    "end_hold": {"doc": "End the active hold early; needs the reason (journalled).",
                 "params": _params({"reason": _TEMPLATE}, ("reason",)), "free_text": ("reason",)},
    "block_collection": {"doc": "Block collection for the rest of the call.",
                         "params": _params({"reason": _TEMPLATE}), "free_text": ("reason",), "clear_text": True},
    "unblock_collection": {"doc": "Lift a manual collection block (not a hold, not a crisis).",
                           "params": _params({"reason": _TEMPLATE}), "free_text": ("reason",), "clear_text": True},
    "schedule_callback": {"doc": "Record a follow-up in in_days days.",
                          "params": _params({"in_days": _DAYS, "reason": _TEMPLATE}, ("in_days",)),
                          "free_text": ("reason",)},
    "set_outcome": {"doc": "Set the call outcome code.",
                    "params": _params({"code": {**_ID, "description": "outcome code"}}, ("code",))},
    "queue_sms_survey": {"doc": "Queue the SMS satisfaction survey (refused unless consent sms_survey is given).",
                         "params": _params()},
    "start_protocol": {"doc": "Push another protocol; this flow resumes after it ends.",
                       "params": _params({"flow": {**_ID, "description": "flow id"}}, ("flow",))},
    "record_vulnerability": {"doc": "Record a vulnerability (special fields only under consent), with a review date.",
                             "params": _params({"fields": _FIELD_LIST, "review_in_days": _DAYS}, ("fields",))},
    "record_disclosure": {"doc": "Record 'disclosure made, consent declined': no detail at all.",
                          "params": _params({"review_in_days": _DAYS})},
    "record_adjustment": {"doc": "Record reasonable adjustments (shown at the start of every later call), with a "
                                 "review date (default 365 days).",
                          "params": _params({"fields": _FIELD_LIST, "review_in_days": _DAYS}, ("fields",))},
    "flag_capacity_doubt": {"doc": "Open a capacity doubt on the account: no payment decision on this or any later "
                                   "call until a specialist review closes it.",
                            "params": _params({"reason": _TEMPLATE}), "free_text": ("reason",)},
    "clear_capacity_doubt": {"doc": "A care-team member records a specialist review confirming capacity (refused for "
                                    "anyone without the care_team role).",
                             "params": _params({"reason": _TEMPLATE}), "free_text": ("reason",)},
    "record_third_party": {"doc": "Record an authorised third party / power of attorney.",
                           "params": _params({"fields": _FIELD_LIST}, ("fields",))},
    "record_arrangement": {"doc": "Record payment arrangement terms.",
                           "params": _params({"fields": _FIELD_LIST}, ("fields",))},
    "signpost": {"doc": "Record signposting of the given kind, with the entries shown.",
                 "params": _params({"kind": {"enum": list(SIGNPOST_KINDS)}}, ("kind",))},
    "offer_debrief": {"doc": "Offer the agent a debrief.", "params": _params()},
    "withdraw_consent": {"doc": "Withdraw a consent.",
                         "params": _params({"purpose": {**_ID, "description": "consent purpose"}}, ("purpose",))},
    "record_contact_reason": {"doc": "Record the allowed reason to go on outside the permitted contact hours "
                                     "(a key of `reasons` in resources/contact_rules.yaml).",
                              "params": _params({"reason": {**_ID, "description": "reason key"}}, ("reason",))},
    "record_dispute": {"doc": "The customer disputes the debt: collection is paused on the account until the "
                              "evidence is reviewed.",
                       "params": _params({"reason": _TEMPLATE}, ("reason",)), "free_text": ("reason",)},
}


def free_text_params(name: str) -> tuple[str, ...]:
    """The params of action `name` that a person types (empty for an unknown action)."""
    return tuple(ACTION_SPECS.get(name, {}).get("free_text", ()))


def free_text_sealable(name: str) -> bool:
    """Whether action `name`'s typed text is sealed in its entry (so a consent may cover it)."""
    return not ACTION_SPECS.get(name, {}).get("clear_text", False)


@cache
def params_validator(name: str):
    """A cached jsonschema validator for an action's params (KeyError for an unknown action); valid
    params are answered by the compiled check (`schemacheck`), invalid ones by jsonschema."""
    from jsonschema import Draft202012Validator

    from callguide.flow.schemacheck import CheckedValidator

    return CheckedValidator(Draft202012Validator(ACTION_SPECS[name]["params"]))
