"""Bounded templates and conditions (issue 9 §2): every hostile template fails fast with one line,
at validation when it can be seen there and at run time otherwise; compiling runs nothing;
ordinary date and money arithmetic keeps working."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from callguide.flow import expr
from callguide.flow.expr import MAX_LOOP, MAX_TEXT, BoundedSandbox, ExprError, LimitError

from .measure import run_measured

REPO = Path(__file__).resolve().parents[2]
INVALID = REPO / "tests" / "flows" / "invalid"
ENGINE_FLOWS = REPO / "tests" / "engine" / "flows"
SIGNPOSTS = {"CALLGUIDE_SIGNPOSTS": str(REPO / "tests" / "engine" / "signposts.yaml")}

NS = {
    "account": {"name": "Jane Doe", "balance": Decimal("1234.50"), "country": "UK", "currency": "GBP"},
    "income": Decimal("1850.00"), "rent": Decimal("700.00"), "months": 3,
    "due": dt.date(2026, 11, 1), "gap": dt.timedelta(days=14), "now": dt.datetime(2026, 11, 1, 9, 30),
    "signposts": {"debt_advice": [{"name": "StepChange", "phone": "0800 138 1111"}, {"name": "NDL", "url": "x.org"}]},
}

# (template, a piece of the one-line message); each must fail fast, never hang or eat memory
HOSTILE = [
    ("{{ 9**(9**9) }}", "the exponent 387420489 is over the limit"),
    ("{{ 'a' * 10**9 }}", "repeating a text 1000000000 times"),
    ("{{ account.name * 100000000 }}", "repeating a text 100000000 times"),
    ("{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}", "range() of 99999 numbers"),
    ("{% for i in range(9000) %}{% for j in range(9000) %}x{% endfor %}{% endfor %}", "loops run over 10000 times"),
    ("{% for i in range(months * 3000) %}{% for j in range(months * 3000) %}{% endfor %}{% endfor %}",
     "loops run over"),
    ("{{ account.name|center(10**9) }}", "center: 1000000000 is over the limit"),
    ("{{ account.name.ljust(10**9) }}", "ljust(): 1000000000 is over the limit"),
    ("{{ '%0999999999d' % 1 }}", "the width 999999999 is over the limit"),
    ("{{ '%099999999d'|format(1) }}", "the width 99999999 is over the limit"),
    ("{{ 'aaaa'.replace('a', 'b' * 90000) }}", "replace makes a text of over"),
    ("{{ ('x' * 90000).join(range(100)|map('string')) }}", "join() makes a text of over"),
    ("{% set s = 'x' * 90000 %}{{ [s, s, s] ~ '' }}", "'~' makes a text of over"),
    ("{% set s = 'x' * 90000 %}{{ [s, s, s]|join }}", "a value of over"),
    ("{% set s = 'x' * 90000 %}{{ [s, s, s] }}", "the output makes a text or list of over"),
    ("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
     "'~' makes a text of over"),
    ("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
     "the sum is a text or list of over"),
    ("{% for i in range(9999) %}{{ 'x' * 99999 }}{% endfor %}", "the text is over 100000 characters"),
    ("{% for i in range(9999) %}{% set t = 'x' * 99999 %}{% endfor %}", "produces over 2000000 characters"),
    ("{% macro m() %}{% for i in range(9999) %}{{ 'x' * 99999 }}{% endfor %}{% endmacro %}{{ m()|length }}",
     "produces over 2000000 characters"),
    ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "calls itself too deeply"),
    ("{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(60) }}", "takes longer than"),
    ("{{ (2 ** 1000) * (2 ** 1000) * (2 ** 1000) * (2 ** 1000) * (2 ** 1000) }}", "over 4096 bits"),
    ("{{ range(10**30)|list }}", "range() of so many numbers"),
    ("{{ [[1]]|sum(start=[]) }}", "adding up lists or texts is not allowed"),
    ("{% for x in items recursive %}{{ loop(x) }}{% endfor %}", "recursive loops are not allowed"),
    ("{{ lipsum(10**8) }}", "'lipsum' is undefined"),
    ("{{ '{:>999999999}'.format(1) }}", "access to attribute 'format' of 'str' object is unsafe"),
    ("{{ (1).to_bytes(10**9, 'big') }}", "access to attribute 'to_bytes' of 'int' object is unsafe"),
    ("{{ [1].append(2) }}", "access to attribute 'append' of 'list' object is unsafe"),
    ("{{ " + " + ".join(["1"] * 400) + " }}", "nested too deeply"),
    ("{{ " + "(" * 4000 + "1" + ")" * 4000 + " }}", "nested too deeply"),
    ("{{ x }}" + "y" * expr.MAX_TEMPLATE_CHARS, "the limit is 10000"),
]


@pytest.mark.parametrize(("src", "message"), HOSTILE, ids=[h[0][:40] for h in HOSTILE])
def test_hostile_template_fails_with_one_line(src, message):
    with pytest.raises(ExprError) as e:
        expr.render(src, NS)
    text = str(e.value)
    assert message in text and "\n" not in text


@pytest.mark.parametrize(("src", "message"), [
    ("account.balance > 9 ** (9 ** 9)", "the exponent"),
    ("'a' * 10**9 == 'a'", "repeating a text"),
    ("account.name * 10**8", "repeating a text"),
    ("(range(10**6)|list)[0] > 0", "range() of 1000000 numbers"),
])
def test_hostile_condition_fails_with_one_line(src, message):
    with pytest.raises(LimitError) as e:
        expr.evaluate(src, NS)
    assert message in str(e.value)


@pytest.mark.parametrize(("src", "message"), [
    ("{{ 9**(9**9) }}", "the exponent 387420489"),
    ("{{ 'a' * 10**9 }}", "repeating a text"),
    ("{{ account.name * 100000000 }}", "the factor 100000000 is over the limit"),
    ("{{ 100000000 * account.name }}", "the factor 100000000 is over the limit"),
    ("{% for i in range(99999) %}{% endfor %}", "range() of 99999 numbers"),
    ("{% for i in range(5000) %}{% for j in [1, 2, 3] %}x{% endfor %}{% endfor %}", "loops would run 15000 times"),
    ("{{ account.name|center(10**9) }}", "center: 1000000000"),
    ("{{ account.name.rjust(10**9) }}", "rjust(): 1000000000"),
    ("{{ '%0999999999d'|format(balance) }}", "the width 999999999"),
    ("{{ 'ab'.ljust(10**9) }}", "ljust()"),
])
def test_validator_sees_limits_in_the_source(src, message):
    with pytest.raises(LimitError) as e:
        expr.check_limits(src)
    assert message in str(e.value) and e.value.line == 1


@pytest.mark.parametrize("src", [
    "{{ account.balance * 100 }}", "{{ income * 12 }}", "{% for i in range(10) %}{{ i }}{% endfor %}",
    "{{ account.name * 3 }}", "{{ months ** 2 }}", "{% for s in signposts.debt_advice %}{{ s.name }}{% endfor %}",
])
def test_ordinary_templates_pass_the_limit_check(src):
    expr.check_limits(src)


@pytest.mark.parametrize(("src", "out"), [
    ("{{ income - rent }}", "1150.00"),
    ("{% set left = income - rent %}{{ left }} / {{ -left }}", "1150.00 / -1150.00"),
    ("{{ (income * 12 / 52)|round(2) }}", "426.92"),
    ("{{ '%.2f' % (income - rent) }}", "1150.00"),
    ("{{ account.balance + income }}", "3084.50"),
    ("{{ due + gap }}", "2026-11-15"),
    ("{{ (due - gap).isoformat() }}", "2026-10-18"),
    ("{{ (now + gap).strftime('%d/%m %H:%M') }}", "15/11 09:30"),
    ("{{ (due - dt_before).days }}", "31"),
    ("{% for s in signposts.debt_advice %}{{ s.name }}{% if not loop.last %}, {% endif %}{% endfor %}",
     "StepChange, NDL"),
    ("{{ account.name|upper }} {{ account.name.lower() }} {{ 'x' ~ account.currency }}", "JANE DOE jane doe xGBP"),
    ("{{ [1, 2, 3]|sum }} {{ [3, 1, 2]|sort|join(',') }} {{ range(3)|list }}", "6 1,2,3 [0, 1, 2]"),
    ("{{ 'Hello' ~ ' ' ~ account.name }}", "Hello Jane Doe"),
    ("{{ 2 ** 10 }} {{ 7 // 2 }} {{ 7 % 3 }} {{ 1.5 * 2 }}", "1024 3 1 3.0"),
    ("no template at all, {not even braces}", "no template at all, {not even braces}"),
])
def test_date_and_money_arithmetic_still_work(src, out):
    assert expr.render(src, {**NS, "dt_before": dt.date(2026, 10, 1)}) == out


def test_conditions_still_work():
    assert expr.evaluate("income - rent > 1000 and due + gap > due", NS) is True
    assert expr.evaluate("account.balance * 2 == 2469", NS) is True


def test_compiling_runs_nothing():
    """Jinja folds constants while compiling; the bounded sandbox folds none of the costly ones."""
    env = BoundedSandbox()
    for src in ("{{ 9 ** 9 }}", "{{ 'a' * 3 }}", "{{ 'ab'|center(9) }}", "{{ -5 }}", "{{ 'a' ~ 'b' }}"):
        code = env.compile(src, raw=True)
        assert "387420489" not in code and "'aaa'" not in code and "'   ab    '" not in code, code
        assert "'ab'" not in code or "center" in code
    assert "environment.call_binop" in env.compile("{{ 9 ** 9 }}", raw=True)
    assert "environment.call_unop" in env.compile("{{ -x }}", raw=True)


def test_filters_added_later_are_guarded_too():
    env = BoundedSandbox()
    env.filters["shout"] = lambda s, times=1: (s.upper() + "!") * times
    env.filters.update(whisper=lambda s: s.lower())
    tpl = env.from_string("{{ 'hi'|shout(2) }} {{ 'HI'|whisper }}")
    assert tpl.render() == "HI!HI! hi"
    assert all(getattr(env.filters[n], "_callguide_guarded", False) for n in ("shout", "whisper"))
    with pytest.raises(LimitError):
        env.from_string("{{ 'hi'|shout(10**6) }}").render()
    # a filter with constant arguments is not run while compiling
    assert "HI!" not in env.compile("{{ 'hi'|shout }}", raw=True)


def test_limits_are_per_render():
    src = "{% for i in range(6000) %}{% endfor %}ok"
    for _ in range(5):  # each render has its own loop budget
        assert expr.render(src, NS) == "ok"
    assert MAX_LOOP < 12000 and MAX_TEXT >= 100_000


# --------------------------------------------------------------------------- measured in a process

ISSUE_CASES = ["template_power", "template_repeat", "template_factor", "template_loops", "template_nested_loops",
               "template_width", "template_condition"]


@pytest.mark.parametrize("case", ISSUE_CASES)
def test_validate_on_hostile_templates_is_fast_small_and_an_error(case):
    m = run_measured("validate", f"tests/flows/invalid/{case}.yaml")
    assert m.code == 1
    lines = m.stdout.splitlines()
    assert len(lines) == 1 and f"{case}.yaml:" in lines[0] and ": bad-expression: " in lines[0]
    assert m.cpu < 2 and m.maxrss_mb < 200, (m.cpu, m.maxrss_mb)


RUNTIME = {  # pass validation (the size comes from an answer), break a limit when the step renders
    "repeat": "{{ account.name * (income|int) }}",
    "loops": "{% for i in range(income|int) %}{% for j in range(income|int) %}x{% endfor %}{% endfor %}",
    "nested": "{% for i in range(spend|int) %}{% for j in range(spend|int) %}x{% endfor %}{% endfor %}",
    "power": "{{ (income|int) ** (income|int) }}",
}


@pytest.mark.parametrize("name", sorted(RUNTIME))
def test_walk_on_hostile_templates_fails_the_text_not_the_process(tmp_path, name):
    flows = tmp_path / "flows"
    shutil.copytree(ENGINE_FLOWS, flows)
    main = flows / "main.yaml"
    main.write_text(main.read_text(encoding="utf-8").replace(
        "say: {en: Can you pay?,", f"say: {{en: \"Can you pay? {RUNTIME[name]}\",", 1), encoding="utf-8")
    script = tmp_path / "script.yaml"
    script.write_text('- {next: null}\n- {answer: {income: "100000000", spend: "9000"}}\n- {next: null}\n'
                      '- {next: "yes"}\n', encoding="utf-8")
    m = run_measured("walk", str(main), "--script", str(script), "--db", str(tmp_path / "w.db"), env=SIGNPOSTS)
    assert m.code == 0, m.stderr
    assert "Traceback" not in m.stderr
    trace = json.loads(m.stdout)
    said = [r["say"] for r in trace["records"] if r["type"] == "step_shown" and r["step"] == "offer"]
    # one clear line in place of the text: where, and what to do; never the source or the raw error
    assert said and all(x.startswith("\u26a0 This text could not be shown (") and "main.yaml:" in x
                        and "limit of the flow language" in x and "{" not in x and "Can you pay" not in x
                        for x in said), said
    problems = [r for r in trace["records"] if r["type"] == "flow_problem"]
    assert len(problems) == 1 and problems[0]["what"] == "text" and problems[0]["limit"] is True
    assert "main.yaml:" in problems[0]["where"] and "limit" in problems[0]["reason"]
    assert m.cpu < 2 and m.maxrss_mb < 200, (m.cpu, m.maxrss_mb)


@pytest.mark.parametrize("case", ["template_power", "template_repeat", "template_factor", "template_loops"])
def test_walk_refuses_a_library_with_a_hostile_template(tmp_path, case):
    flows = tmp_path / "flows"
    shutil.copytree(ENGINE_FLOWS, flows)
    bad = (INVALID / f"{case}.yaml").read_text(encoding="utf-8").split("      en: ", 1)[1].split("\n", 1)[0]
    main = flows / "main.yaml"
    main.write_text(main.read_text(encoding="utf-8").replace(
        "say: {en: Can you pay?,", f"say: {{en: {bad},", 1), encoding="utf-8")
    script = tmp_path / "script.yaml"
    script.write_text("- {next: null}\n", encoding="utf-8")
    m = run_measured("walk", str(main), "--script", str(script), "--db", str(tmp_path / "w.db"), env=SIGNPOSTS)
    assert m.code == 1 and "Traceback" not in m.stderr
    assert "bad-expression" in m.stderr and "limit" in m.stderr
    assert m.cpu < 2 and m.maxrss_mb < 200, (m.cpu, m.maxrss_mb)


def _dense_flow(n_texts: int, chars: int) -> str:
    """A flow whose say texts are the costliest templates to compile: long lists of names."""
    body = ",".join(["account"] * ((chars - 8) // 8))
    steps = "".join(f"  - {{id: s{i}, kind: say, say: {{en: \"{{{{ [{body}] }}}}\"}}, next: s{i + 1}}}\n"
                    for i in range(n_texts))
    return ("schema: callguide/flow@1\nid: dense\nversion: \"1\"\npriority: general\ntitle: {en: T}\n"
            "description: {en: D}\nlanguages: [en]\nstart: s0\nsteps:\n" + steps +
            f"  - {{id: s{n_texts}, kind: outcome, outcome: done}}\n")


def test_a_file_full_of_costly_templates_is_refused_or_checked_fast(tmp_path):
    over = tmp_path / "over.yaml"
    over.write_text(_dense_flow(100, 9_900), encoding="utf-8")  # 1 MiB of templates
    m = run_measured("validate", str(over))
    assert m.code == 1 and "file-too-large: the texts with templates in this file add up to over 50000" in m.stdout
    assert m.cpu < 2 and m.maxrss_mb < 200, (m.cpu, m.maxrss_mb)
    under = tmp_path / "under.yaml"
    under.write_text(_dense_flow(5, 9_900), encoding="utf-8")  # just under the limit: all compiled
    m = run_measured("validate", str(under))
    assert m.code == 0, m.stdout
    assert m.cpu < 2 and m.maxrss_mb < 200, (m.cpu, m.maxrss_mb)


@pytest.mark.parametrize("src", [
    "income > 0", "consent.health and not state.crisis", "a.b.c[d] + e|length > f(g, h=i)",
    "x if y else z", "[p, q] | join(r)", "range(n)|list", "dict(k=v).k", "'lit' ~ s", "loop", "caller()",
    "m is divisibleby(k)", "(u, w)[0]",
])
def test_condition_names_are_what_jinja_finds(src):
    from jinja2 import meta

    ast = expr._env.parse("{{ (" + src + ") }}")
    assert expr.expression_names(src) == frozenset(meta.find_undeclared_variables(ast))


@pytest.mark.parametrize(("src", "message"), [
    ("income > 0 and", "it ends too early"),
    ("", "it is empty"),
    ("a, b", "unexpected ',' after the condition"),
    ("x) }}{% for i in range(9) %}{{ (y", "unexpected ')'"),
])
def test_conditions_are_checked_as_they_run(src, message):
    """The validator parses a condition exactly as the engine compiles it (it used to wrap it in
    `{{ ( ) }}`, which let an empty condition, a tuple or a smuggled `{% for %}` pass)."""
    with pytest.raises(ExprError) as checked:
        expr.expression_names(src)
    assert str(checked.value) == f"cannot read condition {src!r}: {message}"
    with pytest.raises(ExprError) as ran:
        expr.evaluate(src, NS)
    assert str(ran.value) == str(checked.value)


def test_loading_the_languages_never_counts_against_a_render():
    """Importing Babel and loading a language's locale data (20-50 ms of CPU once per process, more on a
    busy machine) are the app starting, not the template's work: the first date of the day renders even
    under a budget far smaller than they take."""
    import subprocess
    import sys

    code = (
        "import datetime as dt\n"
        "from callguide.flow import expr\n"
        "expr.RENDER_SECONDS = 0.025\n"
        "for lang in ('cs', 'da', 'en'):\n"
        "    print(expr.render('{{ due | date }} {{ 1234.5 | money }} {{ now | time }}',\n"
        "          {'due': dt.date(2026, 12, 25), 'now': dt.datetime(2026, 12, 25, 22, 30),\n"
        "           'call': {'lang': lang}, 'account': {'currency': 'CZK'}}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-400:]
    assert "25. prosince 2026" in out.stdout and "25. december 2026" in out.stdout, out.stdout
