"""People and roles from the local people file (callguide/identity.py)."""

from __future__ import annotations

import pytest

from callguide.identity import IdentityError, Person, load_people, person, require_role


def test_unlisted_person_is_an_agent_only(tmp_path, monkeypatch):
    monkeypatch.setenv("CALLGUIDE_PEOPLE", str(tmp_path / "none.yaml"))
    p = person("zoe")
    assert p == Person("zoe")
    assert p.has("agent") and not p.has("reviewer")
    with pytest.raises(IdentityError, match="needs the reviewer role; zoe has agent"):
        require_role(p, "reviewer", "Approving a flow")


def test_people_file_gives_names_and_roles(tmp_path, monkeypatch):
    f = tmp_path / "people.yaml"
    f.write_text("people:\n  rita: {name: Rita Novak, roles: [reviewer, trainer]}\n  bo: [care_team]\n")
    monkeypatch.setenv("CALLGUIDE_PEOPLE", str(f))
    monkeypatch.setenv("CALLGUIDE_USER", "rita")
    rita = person()
    assert rita.display_name == "Rita Novak" and rita.has("reviewer") and rita.has("trainer")
    require_role(rita, ("reviewer", "auditor"), "x")
    assert person("bo").roles == frozenset({"care_team"})


@pytest.mark.parametrize("text, message", [
    ("people: [a, b]\n", "expected a mapping"),
    ("people:\n  a: {roles: [boss]}\n", "unknown role"),
    ("people:\n  a: {roles: [agent]\n", ":3:1: not valid YAML"),
    # A person written twice: before, the second silently replaced the first, roles and all.
    ("people:\n  a: {roles: [care_team]}\n  a: {roles: [agent]}\n", ":3:3: not valid YAML .duplicate key 'a'"),
    ("people:\n  a: !!python/name:os.system {roles: [agent]}\n", "not valid YAML"),
])
def test_bad_people_file_is_one_line_with_place(tmp_path, text, message):
    f = tmp_path / "people.yaml"
    f.write_text(text)
    with pytest.raises(IdentityError, match=message) as e:
        load_people(f)
    assert "\n" not in str(e.value)
