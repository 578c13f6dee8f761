"""``collectsim schema [TABLE]``: the file schema as a user reads it, and the errors that point to it."""

from __future__ import annotations

import pytest

from collectsim.cli import main
from collectsim.errors import InputError
from collectsim.experiments import load_experiment, schema_tables, schema_text
from collectsim.policies.rule_table import Cell
from collectsim.scenario import Portfolio


def test_without_a_table_it_lists_every_table(capsys):
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    for name in ("run", "portfolio", "segments", "channels.NAME", "teams", "rules.extra", "policy.cells",
                 "compare.variants", "optimize.params"):
        assert f"  {name} " in out, name
    assert set(schema_tables()) >= {"portfolio", "policy.cells", "optimize.objective"}


def test_a_table_shows_every_field_with_type_default_bounds_and_description(capsys):
    assert main(["schema", "portfolio"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[portfolio]\n")
    for name, f in Portfolio.model_fields.items():
        assert f"\n{name}  (" in out, name
        if f.description:
            assert " ".join(f.description.split()) in out
    assert "accounts  (int; default 100000; ≥ 1, ≤ 50000000)" in out
    cells = schema_text("[[policy.cells]]")
    assert all(f"\n{n}  (" in cells for n in Cell.model_fields)
    assert 'offer  (one of "none", "ptp", "instalment", "settlement"; default "ptp")' in cells
    assert schema_text("channels.sms") == schema_text("channels") == schema_text("channels.NAME")


def test_an_unknown_table_is_one_line_and_exit_2(capsys):
    assert main(["schema", "portfolo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("collectsim: error: unknown table 'portfolo'; allowed: run, portfolio,") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("toml", "table"),
    [
        ("[portfolio]\nacounts = 5\n", "portfolio"),
        ("[[segments]]\nname = 'a'\nshare = 1.0\ncolour = 1\n", "segments"),
        ("[channels.sms]\ncost = 1\n", "channels.sms"),
    ],
)
def test_an_unknown_key_points_to_the_schema_of_its_table(tmp_path, capsys, toml, table):
    p = tmp_path / "typo.toml"
    p.write_text(toml)
    with pytest.raises(InputError, match=rf"\(a typo\?\); `collectsim schema {table}` lists the allowed fields$"):
        load_experiment(p)
    assert main(["schema", table]) == 0  # and the command it names works
    assert capsys.readouterr().out.strip()


def test_rule_table_and_adaptive_policy_tables_both_listed(capsys):
    """Both policy files have a [policy] table; each is reachable by its own key."""
    from collectsim.cli import main

    assert main(["schema"]) == 0
    listing = capsys.readouterr().out
    assert "\n  policy " in listing and "\n  policy.adaptive " in listing
    assert main(["schema", "policy"]) == 0
    assert "cells" in capsys.readouterr().out
    assert main(["schema", "policy.adaptive"]) == 0
    assert "review_days" in capsys.readouterr().out
