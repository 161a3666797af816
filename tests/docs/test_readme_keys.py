"""The README's test-keys table says what `lead-sandbox keys` prints: each key's plan as its fixture names
it, and the per-minute budget as the API's definition sets it (a newcomer compared the two)."""

from __future__ import annotations

import re
from pathlib import Path

from sandbox.apis import registry
from sandbox.seeding import load_fixture

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| ([a-z-]+) \| `[^`]+`[^|]* \| `([^`]+)` \| (\w+) \| ([^|]+?) \|$", re.MULTILINE)


def test_readme_test_keys_table__plans_and_budgets_match_fixtures_and_definitions() -> None:
    rows = ROW.findall(README.read_text(encoding="utf-8"))
    apis = registry()
    fixture_keys = {k["key"]: (name, k) for name in apis if not apis[name].admin_only
                    for t in load_fixture(name)["tenants"] for k in t.get("keys", [])}
    assert len(rows) >= 15 and {key for _, key, _, _ in rows} == set(fixture_keys)
    for api, key, role, cell in rows:
        name, fixture = fixture_keys[key]
        assert (api, role) == (name, fixture["role"]), key
        plan, budget = fixture["plan"], apis[api].plans.get(fixture["plan"])
        if budget is None:
            assert cell == f"{plan}: no rate limit", (key, cell)
        elif cell.startswith(f"{plan}: "):  # a plan without API access says so instead of its budget
            assert cell == f"{plan}: no API access (403)", (key, cell)
        else:
            assert cell == f"{plan} ({budget})", (key, cell)
