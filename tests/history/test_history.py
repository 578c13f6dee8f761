"""The history schema: a simulated history is what the engine did, and bad histories are refused.

``collectsim synth`` writes what a department's CRM would hold; every table is re-derived
here from its definition through a second route (the engine's own contact log and KPIs on
the same seed), and every refusal of :func:`collectsim.history.read_history` names the
table, the column and the row.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import collectsim
from collectsim.cli import main
from collectsim.errors import InputError
from collectsim.history import TABLES, looks_personal, read_history, schema_markdown
from collectsim.model import CollectionsModel
from collectsim.policies import prepare_policy

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "quickstart.toml"
ACCOUNTS, DAYS, SEED = 1500, 45, 3


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "h"
    folder, rows = collectsim.synthesize_history(EXPERIMENT, out=out, accounts=ACCOUNTS, days=DAYS, seed=SEED)
    assert folder == out and rows["accounts"] == ACCOUNTS and rows["contacts"] > 0
    return out


def _same_run():
    exp = collectsim.load_experiment(EXPERIMENT, accounts=ACCOUNTS, days=DAYS)
    model = CollectionsModel(exp.scenario, prepare_policy(exp.run.policy, exp.scenario), seed=SEED, log_contacts=True)
    model.run_for(DAYS)
    return model


def test_the_history_is_what_the_engine_did(history):
    h = read_history(history)
    assert h.days == DAYS and len(h.accounts) == ACCOUNTS
    model = _same_run()  # the same book, policy and seed: common random numbers make it the same run
    pop = model.borrowers
    log = model.contact_log()
    # contacts: every executed contact of the engine's log, with its channel, hour and day
    key = ["account", "day", "hour", "channel"]
    a = h.contacts[key].assign(channel=h.contacts.channel.astype(str)).sort_values(key).reset_index(drop=True)
    b = log[key].assign(channel=log.channel.astype(str)).astype({"day": np.int64, "hour": np.int64})
    b = b.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a.astype({"day": np.int64, "hour": np.int64}), b, check_dtype=False)
    assert (h.contacts.outcome.isin(["rpc", "promise", "plan", "settlement"])).sum() == int(log.reached.sum())
    assert (h.contacts.outcome != "no_answer").sum() == int(log.connected.sum())
    assert h.contacts.complaint.sum() == int(log.complaint.sum()) and h.contacts.opt_out.sum() == int(log.opted_out.sum())
    # payments: the cash each account paid, summed again, is its collected amount
    order = np.argsort(pop.account_id)
    paid = h.payments.groupby("account").amount.sum()
    collected = pd.Series(pop.collected[order] / 100.0, index=pop.account_id[order])
    assert np.allclose(paid.reindex(collected.index, fill_value=0.0).to_numpy(), collected.to_numpy(), atol=5e-3)
    # accounts at entry and how they left
    assert np.allclose(h.accounts.balance.to_numpy(), pop.balance0[order] / 100.0)
    left = pop.status[order] != 0
    assert len(h.outcomes) == int(left.sum())
    assert (h.outcomes.day.to_numpy() == pop.resolved_day[order][left]).all()
    truth = json.loads((history / "truth.json").read_text())
    assert truth["parameters"]["segments.0.delta2"] == model.borrowers.d2_by_segment[0]
    assert truth["parameters"]["portfolio.accounts"] == ACCOUNTS and truth["seed"] == SEED


def test_the_same_seed_writes_the_same_history(history, tmp_path):
    again, _ = collectsim.synthesize_history(EXPERIMENT, out=tmp_path / "h", accounts=ACCOUNTS, days=DAYS, seed=SEED)
    for t in TABLES:
        assert (again / f"{t.name}.csv").read_bytes() == (history / f"{t.name}.csv").read_bytes(), t.name


def test_parquet_and_csv_read_the_same(history, tmp_path):
    out, _ = collectsim.synthesize_history(EXPERIMENT, out=tmp_path / "p", accounts=ACCOUNTS, days=DAYS, seed=SEED,
                                           fmt="parquet")
    a, b = read_history(history), read_history(out)
    for t in TABLES:
        x, y = getattr(a, t.name), getattr(b, t.name)
        pd.testing.assert_frame_equal(x.astype(str), y.astype(str))


def test_the_example_history_in_the_repository_reads():
    h = read_history(ROOT / "experiments" / "history-example")
    assert len(h.accounts) > 0 and len(h.contacts) > 0 and len(h.payments) > 0


def test_dates_are_read_as_days_from_start_date(history, tmp_path):
    d = tmp_path / "dates"
    shutil.copytree(history, d)
    pay = pd.read_csv(d / "payments.csv")
    pay["day"] = (pd.Timestamp("2026-01-01") + pd.to_timedelta(pay.day, unit="D")).dt.strftime("%Y-%m-%d")
    pay.to_csv(d / "payments.csv", index=False)
    (d / "history.toml").write_text(f'days = {DAYS}\nstart_date = 2026-01-01\n')
    assert read_history(d).payments.day.tolist() == read_history(history).payments.day.tolist()


def _broken(history: Path, tmp_path: Path, table: str, change) -> Path:
    d = tmp_path / "bad"
    shutil.copytree(history, d)
    df = pd.read_csv(d / f"{table}.csv")
    df = change(df)
    if df is None:
        (d / f"{table}.csv").unlink()
    else:
        df.to_csv(d / f"{table}.csv", index=False)
    return d


CASES = {
    "missing column": ("contacts", lambda df: df.drop(columns="hour"), r"contacts.csv: column 'hour' is missing"),
    "mistyped column": ("contacts", lambda df: df.assign(hour=df.hour.astype(str).where(df.index != 4, "ten")),
                        r"contacts.csv: column 'hour': row 5 = 'ten' is not a whole number"),
    "hour out of range": ("contacts", lambda df: df.assign(hour=df.hour.where(df.index != 2, 24)),
                          r"contacts.csv: column 'hour': row 3 = 24 is above 23"),
    "unknown channel": ("contacts", lambda df: df.assign(channel=df.channel.where(df.index != 0, "fax")),
                        r"contacts.csv: column 'channel': row 1 = 'fax' is not one of"),
    "duplicate account": ("accounts", lambda df: pd.concat([df, df.iloc[[7]]]),
                          rf"accounts.csv: column 'account': row {ACCOUNTS + 1} = 7 repeats an account"),
    "payment of an unknown account": ("payments", lambda df: df.assign(account=df.account.where(df.index != 3, 10**9)),
                                      r"payments.csv: column 'account': row 4 = 1000000000 is not in accounts"),
    "contact of an unknown account": ("contacts", lambda df: df.assign(account=df.account.where(df.index != 0, -5)),
                                      r"contacts.csv: column 'account': row 1 = -5 is below 0"),
    "negative amount": ("payments", lambda df: df.assign(amount=df.amount.where(df.index != 1, -3.5)),
                        r"payments.csv: column 'amount': row 2 = -3.5 is negative"),
    "contact outside the window": ("contacts", lambda df: df.assign(day=df.day.where(df.index != 6, DAYS + 2)),
                                   rf"contacts.csv: column 'day': row 7 = {DAYS + 2} is outside the history window"),
    "empty table": ("payments", lambda df: df.iloc[:0], r"payments.csv: the table is empty"),
    "missing table": ("payments", lambda df: None, r"no payments.csv or payments.parquet"),
    "empty required value": ("accounts", lambda df: df.assign(balance=df.balance.where(df.index != 9, np.nan)),
                             r"accounts.csv: column 'balance': row 10 is empty"),
    "column outside the schema": ("accounts", lambda df: df.assign(region="north"),
                                  r"accounts.csv: column 'region' is not in the schema of accounts.*--ignore-extra-columns"),
    "personal data": ("accounts", lambda df: df.assign(customer_phone="555"),
                      r"accounts.csv: column 'customer_phone' looks like personal data"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_history_is_refused_naming_table_column_and_row(history, tmp_path, case):
    table, change, message = CASES[case]
    d = _broken(history, tmp_path, table, change)
    with pytest.raises(InputError, match=message) as e:
        read_history(d)
    assert "\n" not in str(e.value)


def test_extra_columns_are_read_when_asked_and_personal_data_never(history, tmp_path):
    d = _broken(history, tmp_path, "accounts", lambda df: df.assign(region="north"))
    assert "region" not in read_history(d, ignore_extra_columns=True).accounts
    d2 = _broken(history, tmp_path / "x", "accounts", lambda df: df.assign(email_address="a@b"))
    with pytest.raises(InputError, match="personal data"):
        read_history(d2, ignore_extra_columns=True)
    assert all(looks_personal(c) for c in ("First Name", "surname", "phone_number", "MobileNo", "national_id",
                                             "date_of_birth", "street_address", "e-mail"))
    assert not any(looks_personal(c.name) for t in TABLES for c in t.columns)


def test_synth_refuses_bad_input_with_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "h"
    assert main(["synth", str(EXPERIMENT), "--policy", "no-such-policy", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no-such-policy" in err and not out.exists()


def test_docs_data_md_shows_the_schema():
    assert schema_markdown() in (ROOT / "docs" / "data.md").read_text(), "paste schema_markdown() into docs/data.md"


def test_the_history_in_memory_is_the_written_one_read_back(history):
    from collectsim.experiments.synth import simulate_history

    exp = collectsim.load_experiment(EXPERIMENT, accounts=ACCOUNTS, days=DAYS)
    mem, read = simulate_history(exp, policy=exp.run.policy, seed=SEED), read_history(history)
    for t in TABLES:  # same rows, values and dtypes as read_history gives for the written files
        pd.testing.assert_frame_equal(getattr(mem, t.name), getattr(read, t.name), check_exact=True)
    assert mem.days == read.days == DAYS and mem.meta == read.meta
