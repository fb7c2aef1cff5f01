"""Builds `resources/schema/flow.schema.json` from the model constants and the action registry.

Run `python -m callguide.flow.schemagen` after changing either; a test keeps the file in sync.
Never imports Qt.
"""

from __future__ import annotations

import json
import sys

from callguide.flow.actions import ACTION_SPECS
from callguide.flow.model import (
    BUILTIN_INVARIANTS,
    CATEGORIES,
    FIELD_TYPES,
    PRIORITIES,
    REQUIREMENTS,
    SENSITIVITIES,
    STEP_KINDS,
)
from callguide.paths import schema_path

ID = "^[a-z][a-z0-9_-]*$"
SNAKE = "^[a-z][a-z0-9_]*$"
LANG = "^[a-z]{2}$"


def text(desc: str) -> dict:
    return {"$ref": "#/$defs/text", "description": desc}


def build_schema() -> dict:
    """The flow JSON Schema as a dict."""
    defs = {
        "text": {
            "type": "object",
            "description": "A translatable text: one string per language (every language in `languages`), plus an optional stable `id`. Strings are Jinja2 templates rendered in a sandbox.",
            "properties": {
                "id": {
                    "type": "string",
                    "pattern": "^[a-z0-9][a-z0-9_.-]*$",
                    "description": "Stable text id. Derived as <flow>.<step>.<slot> when omitted.",
                }
            },
            "patternProperties": {
                LANG: {"type": "string", "description": "The text in this language (a template)."}
            },
            "additionalProperties": False,
            "minProperties": 1,
        },
        "stepId": {
            "type": "string",
            "pattern": ID,
            "description": "A step id in this flow (lowercase, digits, '-', '_').",
        },
        "expression": {
            "type": "string",
            "minLength": 1,
            "description": "A condition in the safe expression language (Jinja2 expression): field ids, account, consent, state, signposts, call.",
        },
        "action": {
            "type": ["string", "object"],
            "description": "An action from the registry: `NAME: {params}` or the bare NAME when it takes no params. Names: "
            + ", ".join(ACTION_SPECS),
            "pattern": SNAKE,
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {
                n: {"description": s["doc"], "type": ["object", "null"]} for n, s in ACTION_SPECS.items()
            },
            "additionalProperties": {"type": ["object", "null"], "description": "The action's params."},
        },
        "actions": {
            "type": "array",
            "items": {"$ref": "#/$defs/action"},
            "description": "Actions, committed in order.",
        },
        "transition": {
            "type": "object",
            "additionalProperties": False,
            "required": ["to"],
            "description": "A transition; tried in order, the first whose `when` holds (and whose id matches the chosen choice) is taken.",
            "properties": {
                "id": {
                    "type": "string",
                    "pattern": ID,
                    "description": "Choice id (required on ask steps; `{next: ID}` in flow tests).",
                },
                "label": text("The choice's button label (required on ask steps)."),
                "to": {"$ref": "#/$defs/stepId", "description": "Target step id in this flow."},
                "when": {
                    "$ref": "#/$defs/expression",
                    "description": "Optional condition; a choice whose condition is false is shown disabled.",
                },
            },
        },
        "choice": {
            "type": "object",
            "additionalProperties": False,
            "required": ["value", "label"],
            "description": "One value of a choice field.",
            "properties": {
                "value": {
                    "type": "string",
                    "pattern": SNAKE,
                    "description": "The stored value (snake_case).",
                },
                "label": text("The value's label."),
            },
        },
        "field": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "type", "label"],
            "description": "A typed field the agent fills in.",
            "properties": {
                "id": {
                    "type": "string",
                    "pattern": SNAKE,
                    "description": "Field id (snake_case); usable as a name in expressions.",
                },
                "type": {
                    "enum": list(FIELD_TYPES),
                    "description": "text (str) | number (int/float) | money (decimal string, 2 places) | date (YYYY-MM-DD) | choice (one of `choices`) | yesno (bool).",
                },
                "label": text("The field's label."),
                "help": text("Optional help shown under the field."),
                "required": {
                    "type": "boolean",
                    "description": "Whether a value is needed to go on (default true). A hidden field is never required.",
                },
                "sensitivity": {
                    "enum": list(SENSITIVITIES),
                    "description": "none | personal | special (GDPR special category, e.g. health: needs `consent`).",
                },
                "consent": {
                    "type": "string",
                    "pattern": SNAKE,
                    "description": "The consent purpose that covers this field (required when sensitivity is special).",
                },
                "choices": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"$ref": "#/$defs/choice"},
                    "description": "The values of a choice field.",
                },
                "min": {"type": "number", "description": "Lowest value (number/money)."},
                "max": {"type": "number", "description": "Highest value (number/money)."},
                "visible_when": {
                    "$ref": "#/$defs/expression",
                    "description": "Show the field only when this holds; a hidden field is cleared and not required.",
                },
            },
        },
        "consent": {
            "type": "object",
            "additionalProperties": False,
            "required": ["purpose", "wording"],
            "description": "What the consent is for and the wording the agent reads.",
            "properties": {
                "purpose": {
                    "type": "string",
                    "pattern": SNAKE,
                    "description": "Consent purpose id; conditions read it as `consent.<purpose>`.",
                },
                "wording": text("The consent question (its rendered sha256 is journalled)."),
                "covers": {
                    "type": "array",
                    "items": {"type": "string", "pattern": SNAKE},
                    "description": "Field ids (anywhere in the library) this consent unlocks.",
                },
                "expires_in_days": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 3650,
                    "description": "Days a given consent stays in force (on this and later calls); without it, "
                    "until withdrawn.",
                },
            },
        },
        "requirement": {
            "enum": list(REQUIREMENTS),
            "description": "collection_allowed: no hold, crisis, dispute, collection block or contact-time "
            "refusal is in force; payment_allowed: that, and no open capacity doubt.",
        },
    }

    step_props = {
        "id": {
            "$ref": "#/$defs/stepId",
            "description": "Step id, unique in the flow (lowercase, digits, '-', '_').",
        },
        "kind": {
            "enum": list(STEP_KINDS),
            "description": "say | ask | capture | consent | decision | action | outcome.",
        },
        "say": text("Customer-facing text: what the agent says (a suggestion, never a verbatim script)."),
        "guidance": text("Agent-only guidance, shown differently from `say`."),
        "category": {
            "enum": list(CATEGORIES),
            "description": "payment: a payment decision/arrangement; collection: any collection demand.",
        },
        "next": {
            "$ref": "#/$defs/stepId",
            "description": "Shorthand for one unconditional transition to this step.",
        },
        "transitions": {
            "type": "array",
            "minItems": 1,
            "items": {"$ref": "#/$defs/transition"},
            "description": "Outgoing transitions (choices on ask steps).",
        },
        "fields": {
            "type": "array",
            "minItems": 1,
            "items": {"$ref": "#/$defs/field"},
            "description": "Fields of a capture step.",
        },
        "consent": {"$ref": "#/$defs/consent", "description": "The consent asked on a consent step."},
        "actions": {
            "$ref": "#/$defs/actions",
            "description": "Actions confirmed on this step and committed on Next (action and outcome steps).",
        },
        "outcome": {
            "type": "string",
            "pattern": SNAKE,
            "description": "Outcome code of an outcome step (the protocol ends and is popped).",
        },
        "suppress_interrupts": {
            "type": "array",
            "items": {"type": "string", "pattern": ID},
            "description": "Global interrupt ids not offered on this step.",
        },
        "requires": {
            "oneOf": [
                {"$ref": "#/$defs/requirement"},
                {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"$ref": "#/$defs/requirement"}},
            ],
            "description": "What the call's state must allow for this step to be shown (besides what "
            "`category` implies); otherwise the call takes the `when_blocked` route.",
        },
        "when_blocked": {
            "$ref": "#/$defs/stepId",
            "description": "Where the call goes instead of this step when it is not allowed now "
            "(overrides the flow's `when_blocked`).",
        },
    }
    kind_required = {
        "ask": ["transitions"],
        "capture": ["fields"],
        "consent": ["consent"],
        "action": ["actions"],
        "outcome": ["outcome"],
    }
    defs["step"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "kind"],
        "description": "One step of the flow.",
        "properties": step_props,
        "allOf": [
            {"if": {"properties": {"kind": {"const": k}}, "required": ["kind"]}, "then": {"required": r}}
            for k, r in kind_required.items()
        ],
    }
    sel = {
        "type": "string",
        "pattern": "^(step:[a-z][a-z0-9_-]*(/[a-z][a-z0-9_-]*)?|flow:[a-z][a-z0-9_-]*|category:(payment|collection)|action:[a-z][a-z0-9_]*)$",
        "description": "Selector: step:ID, step:FLOW/ID, flow:ID, category:payment|collection, action:NAME.",
    }
    inv_required = {
        "requires_before": ["target", "via"],
        "no_path": ["from", "to"],
        "one_action_away": ["protocol"],
    }
    defs["invariant"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "kind"],
        "description": "A property the validator proves over the whole-library graph.",
        "properties": {
            "id": {
                "type": "string",
                "pattern": ID,
                "description": "Invariant id (named in its diagnostics).",
            },
            "kind": {
                "enum": [
                    "requires_before",
                    "no_path",
                    "one_action_away",
                    "consent_before_special",
                    "ends_in_outcome",
                ],
                "description": "requires_before (target, via) | no_path (from, to, unless) | one_action_away (protocol) | consent_before_special | ends_in_outcome.",
            },
            "target": {
                **sel,
                "description": "requires_before: the steps that need a `via` step before them. "
                + sel["description"],
            },
            "via": {
                **sel,
                "description": "requires_before: steps every path must pass first. " + sel["description"],
            },
            "from": {**sel, "description": "no_path: where paths start. " + sel["description"]},
            "to": {**sel, "description": "no_path: what must not be reachable. " + sel["description"]},
            "unless": {**sel, "description": "no_path: steps that cut the path. " + sel["description"]},
            "protocol": {
                "type": "string",
                "pattern": ID,
                "description": "one_action_away: the flow id a global interrupt must reach from every step.",
            },
        },
        "allOf": [
            {"if": {"properties": {"kind": {"const": k}}, "required": ["kind"]}, "then": {"required": r}}
            for k, r in inv_required.items()
        ],
    }
    defs["interrupt"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "protocol", "label"],
        "description": "A global trigger offered on every step (union over the library).",
        "properties": {
            "id": {"type": "string", "pattern": ID, "description": "Interrupt id, unique in the library."},
            "protocol": {"type": "string", "pattern": ID, "description": "The flow id it pushes."},
            "hotkey": {
                "type": "string",
                "pattern": "^((Ctrl|Alt|Shift)\\+)*(F([1-9]|1[0-2])|[A-Z0-9])$",
                "description": "Keyboard shortcut, e.g. F2 or Ctrl+B; unique in the library.",
            },
            "label": text("The interrupt button's label."),
        },
    }
    defs["source"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "title"],
        "description": "Where steps of this flow come from.",
        "properties": {
            "id": {"type": "string", "pattern": ID, "description": "Source id."},
            "title": {"type": "string", "description": "Source title."},
            "ref": {"type": "string", "description": "Reference (file path or URL)."},
            "steps": {
                "type": "array",
                "items": {"$ref": "#/$defs/stepId"},
                "description": "Step ids drawn from this source.",
            },
        },
    }
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://callguide.example/schema/flow.schema.json",
        "title": "CallGuide flow (callguide/flow@1)",
        "description": "One protocol as a state machine of steps. See docs/flow-language.md.",
        "type": "object",
        "additionalProperties": False,
        "required": [
            "schema",
            "id",
            "version",
            "priority",
            "title",
            "description",
            "languages",
            "start",
            "steps",
        ],
        "properties": {
            "schema": {"const": "callguide/flow@1", "description": "Always `callguide/flow@1`."},
            "id": {
                "type": "string",
                "pattern": ID,
                "description": "Flow id: lowercase, digits, '-'; unique in the library.",
            },
            "version": {
                "type": "string",
                "minLength": 1,
                "description": "Author's version label (calls are pinned to the content hash).",
            },
            "priority": {
                "enum": list(PRIORITIES),
                "description": "Protocol priority when protocols interrupt each other: "
                + " > ".join(PRIORITIES)
                + ".",
            },
            "title": text("The flow's title."),
            "description": text("What the flow is for."),
            "review_needed": {
                "type": "string",
                "description": "Optional plain note for trainers (e.g. wording to check against training material).",
            },
            "languages": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"type": "string", "pattern": LANG},
                "description": "Languages every text must have, e.g. [en, da, cs].",
            },
            "sources": {
                "type": "array",
                "items": {"$ref": "#/$defs/source"},
                "description": "Where the steps come from.",
            },
            "start": {"$ref": "#/$defs/stepId", "description": "The first step."},
            "on_start": {
                "$ref": "#/$defs/actions",
                "description": "Actions committed when the protocol is pushed.",
            },
            "when_blocked": {
                "$ref": "#/$defs/stepId",
                "description": "Default route for steps of this flow that are not allowed now (a hold, a "
                "crisis, a capacity doubt...): the step shown instead, e.g. an explanation and an outcome.",
            },
            "waivers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["invariant", "reason"],
                    "properties": {
                        "invariant": {"enum": list(BUILTIN_INVARIANTS),
                                      "description": "The built-in invariant this flow opts out of."},
                        "reason": {"type": "string", "minLength": 10,
                                   "description": "Why (printed by the validator as a note)."},
                    },
                },
                "description": "Opt out of built-in invariants, each with a reason (the validator prints it).",
            },
            "interrupts": {
                "type": "array",
                "items": {"$ref": "#/$defs/interrupt"},
                "description": "Global triggers this flow offers on every step.",
            },
            "invariants": {
                "type": "array",
                "items": {"$ref": "#/$defs/invariant"},
                "description": "Properties proved by the validator over the library graph.",
            },
            "steps": {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/$defs/step"},
                "description": "The steps, in reading order.",
            },
        },
        "$defs": defs,
    }
    return schema


def schema_json() -> str:
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    path = schema_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_json(), encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
