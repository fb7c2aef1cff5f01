"""Who is at the keyboard, and which roles they hold (PROTOCOLS.md §3 rule 8).

Every call, review, approval and publication is made by a named `Person` with roles. On one
desktop the people and their roles come from a small local file (`people.yaml` in the user's
config folder, `CALLGUIDE_PEOPLE` overrides); the person is named by `--agent`/`--by`, else
`CALLGUIDE_USER`, else the login name. Team mode takes the same facts from the central store.

A person missing from the file (or no file at all) is an agent and nothing more: the app works
out of the box for one agent, and every elevated role (care team, supervisor, trainer, reviewer,
auditor) must be written down. The local file is trusted the way the desktop account is trusted;
`docs/engine.md` says what that does and does not prove. Never imports Qt.

The file:

    people:
      anna:  {name: Anna Jensen, roles: [agent]}
      bo:    {name: Bo Nielsen,  roles: [care_team]}
      rita:  {name: Rita Novak,  roles: [reviewer]}
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

#: Every role CallGuide knows. `care_team` covers the specialist who records capacity reviews.
ROLES: tuple[str, ...] = ("agent", "care_team", "supervisor", "trainer", "reviewer", "auditor")
DEFAULT_ROLES: frozenset[str] = frozenset({"agent"})
MAX_FILE_BYTES = 256 * 1024


class IdentityError(Exception):
    """The people file cannot be read, or a person lacks a role (one plain line)."""


@dataclass(frozen=True)
class Person:
    id: str
    name: str = ""
    roles: frozenset[str] = field(default_factory=lambda: DEFAULT_ROLES)

    @property
    def display_name(self) -> str:
        return self.name or self.id

    def has(self, role: str) -> bool:
        return role in self.roles

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.display_name, "roles": sorted(self.roles)}


def people_path() -> Path:
    env = os.environ.get("CALLGUIDE_PEOPLE")
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir("CallGuide", appauthor=False)) / "people.yaml"


def login_name() -> str:
    env = os.environ.get("CALLGUIDE_USER")
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "agent"


def _parse_roles(value: Any, where: str) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise IdentityError(f"{where}: roles must be a list of role names")
    unknown = sorted(set(value) - set(ROLES))
    if unknown:
        raise IdentityError(f"{where}: unknown role(s) {', '.join(unknown)}; known: {', '.join(ROLES)}")
    return frozenset(value) or DEFAULT_ROLES


def parse_people(data: Any, source: str = "people.yaml") -> dict[str, Person]:
    if data is None:
        return {}
    people = data.get("people") if isinstance(data, dict) else None
    if not isinstance(people, dict):
        raise IdentityError(f"{source}: expected a mapping `people: {{id: {{name, roles}}}}`")
    out: dict[str, Person] = {}
    for pid, spec in people.items():
        where = f"{source}: person {pid!r}"
        if isinstance(spec, list):
            spec = {"roles": spec}
        if not isinstance(spec, dict):
            raise IdentityError(f"{where}: expected {{name, roles}}")
        out[str(pid)] = Person(str(pid), str(spec.get("name") or ""), _parse_roles(spec.get("roles", []), where))
    return out


def load_people(path: str | os.PathLike[str] | None = None) -> dict[str, Person]:
    """The people file as `{id: Person}`; {} when there is none."""
    p = Path(path) if path is not None else people_path()
    try:
        if not p.exists():
            return {}
        if not p.is_file():
            raise IdentityError(f"{p}: not a regular file")
        with p.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise IdentityError(f"{p}: cannot be read ({e.strerror or e})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise IdentityError(f"{p}: larger than {MAX_FILE_BYTES // 1024} KiB")
    from callguide.flow.yamlsafe import parse_config

    try:
        data = parse_config(raw, str(p))
    except ValueError as e:
        raise IdentityError(str(e)) from None
    return parse_people(data, str(p))


def person(person_id: str | None = None, *, people: dict[str, Person] | None = None) -> Person:
    """The named person (or the login name), with the roles the people file gives them."""
    pid = (person_id or "").strip() or login_name()
    known = load_people() if people is None else people
    return known.get(pid) or Person(pid, "", DEFAULT_ROLES)


def require_role(who: Person, roles: str | Iterable[str], what: str) -> None:
    """Refuse with one line unless `who` holds one of `roles`."""
    wanted = (roles,) if isinstance(roles, str) else tuple(roles)
    if not any(who.has(r) for r in wanted):
        names = " or ".join(r.replace("_", " ") for r in wanted)
        raise IdentityError(f"{what} needs the {names} role; {who.id} has "
                            f"{', '.join(sorted(who.roles)) or 'none'} (see {people_path()}).")
