"""The report a manager reads: ``report.html`` (self-contained) and ``report.md`` of a result folder.

:func:`build_report` works on any result folder: a ``collectsim compare`` folder (headline
sentences, KPI table with intervals, recovery curves, DPD-bucket flow, complaints and
churn, per-tier bars, the stress table, provenance), a ``collectsim run`` folder (KPIs,
per-tier table, the run's plots) and an optimizer folder (whichever of
``best_policy.toml``, ``trials.csv``, ``validation.json`` it holds). It reads only the
files in the folder, so a report can be rebuilt at any time (``collectsim report DIR``).

The page is built once as a list of blocks (headings, paragraphs, tables, images) and
rendered twice: to HTML with every plot embedded as a base64 PNG (opens offline, one file
to e-mail) and to Markdown referencing the PNG files next to it.
"""

from __future__ import annotations

import base64
import html
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Sequence

import numpy as np
import pandas as pd

from collectsim.errors import InputError
from collectsim.experiments.compare import stress_table
from collectsim.experiments.compare_config import DEFAULT_KPIS, KPIS

__all__ = [
    "build_report",
    "folder_kind",
    "headline_sentences",
    "format_value",
    "format_diff",
    "Page",
]

MINUS = "\u2212"


# ------------------------------------------------------------------ number formatting ---
def _num(x: float, signed: bool = False) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    a = abs(x)
    if a >= 100 or (a >= 1 and float(a).is_integer()):
        s = f"{a:,.0f}"
    elif a >= 10:
        s = f"{a:,.1f}"
    elif a >= 1:
        s = f"{a:.2f}"
    elif a == 0:
        s = "0"
    else:
        s = f"{a:.3g}"
    sign = MINUS if x < 0 and s != "0" else ("+" if signed and x > 0 else "")
    return sign + s


def format_value(kpi: str, x: float) -> str:
    """A KPI value as a manager reads it (shares in %, money with thousands separators)."""
    if kpi in KPIS and KPIS[kpi].unit == "share" and x is not None and np.isfinite(x):
        return _num(100 * x) + " %"
    return _num(x)


def format_diff(kpi: str, d: float) -> str:
    """A signed KPI difference (shares in percentage points)."""
    if kpi in KPIS and KPIS[kpi].unit == "share" and d is not None and np.isfinite(d):
        return _num(100 * d, signed=True) + " pts"
    return _num(d, signed=True)


def _interval(kpi: str, lo: float, hi: float, diff: bool = False) -> str:
    f = format_diff if diff else format_value
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "–"
    return f"[{f(kpi, lo)}, {f(kpi, hi)}]"


def _p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


# ------------------------------------------------------------------ headline sentences ---
def _effect(kpi: str, d: float, per_accounts: int) -> str:
    """``d`` in words: "2.10 more complaints per 1,000 accounts worked", "churn rate 1.2 pts higher"."""
    info = KPIS[kpi]
    if info.unit == "share":
        return f"{info.label} {_num(abs(100 * d))} pts {'higher' if d >= 0 else 'lower'}"
    if info.unit == "ratio":
        return f"{info.label} {_num(abs(d))} {'higher' if d >= 0 else 'lower'}"
    more = "more" if d >= 0 else ("less" if info.unit == "money" else "fewer")
    per = (f" per {per_accounts:,} accounts" if per_accounts else " in total") if info.total else ""
    return f"{_num(abs(d))} {more} {info.label}{per}"


def _main_clause(kpi: str, d: float, per_accounts: int) -> str:
    per = f" per {per_accounts:,} accounts" if per_accounts else " in total"
    more = "more" if d >= 0 else "less"
    if kpi == "net_recovery":
        return f"recovers {_num(abs(d))} {more}{per} net of costs"
    if kpi in ("collected", "discounted_collected"):
        return f"collects {_num(abs(d))} {more}{per}"
    if kpi in ("recovery_rate", "overdue_recovery_rate"):
        of = "balance" if kpi == "recovery_rate" else "overdue amount"
        return f"recovers {_num(abs(100 * d))} pts {more} of the {of}"
    return "shows " + _effect(kpi, d, per_accounts)


def _range(kpi: str, lo: float, hi: float) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "not computable"
    sc = 100.0 if KPIS[kpi].unit == "share" else 1.0
    a, b = _num(sc * lo), _num(sc * hi)
    unit = " pts" if sc == 100.0 else ""
    return f"{a}–{b}{unit}" if lo >= 0 else f"{a} to {b}{unit}"


def headline_sentences(table: pd.DataFrame, summary: dict) -> list[str]:
    """One sentence per challenger on the headline KPI and its side effects, best first.

    Parameters
    ----------
    table:
        The comparison table (``Comparison.table`` or ``comparison.csv``).
    summary:
        ``Comparison.summary()`` (or ``summary.json``): champion, challengers, headline,
        headline_also, per_accounts, level.

    Returns
    -------
    list of str
        E.g. "Challenger max-legal recovers 1,234 more per 1,000 accounts net of costs (95%
        CI 1,010–1,460) than seed-champion, with 48.9 more complaints per 1,000 accounts
        worked and churn rate 23.5 pts higher; better in 10 of 10 paired replications,
        Holm-adjusted p < 0.001."
    """
    head, also = summary["headline"], [k for k in summary.get("headline_also", []) if k != summary["headline"]]
    per = int(summary.get("per_accounts", 0) or 0)
    level = int(round(100 * float(summary.get("level", 0.95))))
    t = table[(table["variant"] == "base") & (table["scope"] == "all") & (table["role"] == "challenger")]
    rows = t[t["kpi"] == head].copy()
    better = KPIS[head].higher_is_better
    rows["_key"] = -rows["diff"] if better is not False else rows["diff"]
    corr = "Holm-adjusted " if summary.get("correction", "holm") == "holm" and len(rows) > 1 else ""
    out = []
    for _, r in rows.sort_values("_key").iterrows():
        pol = r["policy"]
        side = []
        for k in also:
            s = t[(t["kpi"] == k) & (t["policy"] == pol)]
            if len(s) and np.isfinite(s["diff"].iloc[0]):
                side.append(_effect(k, float(s["diff"].iloc[0]), per))
        with_ = f", with {' and '.join(side)}" if side else ""
        n = int(r["n"])
        wins = r["p_better"] * n if np.isfinite(r["p_better"]) else float("nan")
        wins_s = (
            f"better in {wins:.0f} of {n} paired replications"
            if np.isfinite(wins) and wins == round(wins)
            else (
                f"better in {100 * r['p_better']:.0f}% of {n} paired replications"
                if np.isfinite(wins)
                else f"{n} paired replications"
            )
        )
        p = r["p_adjusted"]
        p_s = f"{corr}p {_p(p)}" if _p(p).startswith("<") else f"{corr}p = {_p(p)}"
        clear = ""
        if np.isfinite(r["diff_ci_low"]) and r["diff_ci_low"] <= 0 <= r["diff_ci_high"]:
            clear = f" The interval includes zero: no clear difference at {level}% confidence."
        out.append(
            f"Challenger {pol} {_main_clause(head, float(r['diff']), per)} "
            f"({level}% CI {_range(head, r['diff_ci_low'], r['diff_ci_high'])}) than {summary['champion']}"
            f"{with_}; {wins_s}, {p_s}.{clear}"
        )
    return out


# ------------------------------------------------------------------ page model -------------
@dataclass
class Page:
    """A report page as blocks, rendered to HTML and Markdown.

    Blocks are tuples: ``("h2", text)``, ``("p", text)``, ``("lead", [sentences])``,
    ``("table", columns, rows)`` (a cell is a string or ``(string, css_class)``),
    ``("img", file_name, caption)``, ``("pre", text)``.
    """

    title: str
    subtitle: str = ""
    blocks: list[tuple] = field(default_factory=list)

    def add(self, *block: Any) -> None:
        """Append one block."""
        self.blocks.append(block)

    def to_markdown(self) -> str:
        """The page as Markdown (images referenced by file name)."""
        out = [f"# {self.title}", ""]
        if self.subtitle:
            out += [self.subtitle, ""]
        for b in self.blocks:
            kind = b[0]
            if kind == "h2":
                out += [f"## {b[1]}", ""]
            elif kind == "p":
                out += [b[1], ""]
            elif kind == "lead":
                for i, s in enumerate(b[1]):
                    out += [f"**{s}**" if i == 0 else s, ""]
            elif kind == "table":
                cols, rows = b[1], b[2]
                out.append("| " + " | ".join(_md_cell(c) for c in cols) + " |")
                out.append("|" + "|".join("---" for _ in cols) + "|")
                for r in rows:
                    out.append("| " + " | ".join(_md_cell(c) for c in r) + " |")
                out.append("")
            elif kind == "img":
                out += [f"![{b[2]}]({b[1]})", ""]
            elif kind == "pre":
                out += ["```", b[1].rstrip("\n"), "```", ""]
        return "\n".join(out).rstrip("\n") + "\n"

    def to_html(self, folder: Path) -> str:
        """The page as one self-contained HTML document (PNGs from ``folder`` embedded)."""
        e = html.escape
        body = [f"<h1>{e(self.title)}</h1>"]
        if self.subtitle:
            body.append(f'<p class="sub">{e(self.subtitle)}</p>')
        for b in self.blocks:
            kind = b[0]
            if kind == "h2":
                body.append(f"<h2>{e(b[1])}</h2>")
            elif kind == "p":
                body.append(f"<p>{e(b[1])}</p>")
            elif kind == "lead":
                items = "".join(f"<p{' class="top"' if i == 0 else ''}>{e(s)}</p>" for i, s in enumerate(b[1]))
                body.append(f'<div class="headline">{items}</div>')
            elif kind == "table":
                cols, rows = b[1], b[2]
                head = "".join(f"<th>{e(str(c))}</th>" for c in cols)
                trs = []
                for r in rows:
                    tds = []
                    for c in r:
                        text, cls = c if isinstance(c, tuple) else (c, "")
                        inner = e(str(text)).replace("\n", "<br>")
                        tds.append(f'<td class="{cls}">{inner}</td>' if cls else f"<td>{inner}</td>")
                    trs.append("<tr>" + "".join(tds) + "</tr>")
                body.append(
                    f'<div class="tw"><table><thead><tr>{head}</tr></thead><tbody>{"".join(trs)}</tbody></table></div>'
                )
            elif kind == "img":
                data = base64.b64encode((folder / b[1]).read_bytes()).decode("ascii")
                body.append(
                    f'<figure><img src="data:image/png;base64,{data}" alt="{e(b[2])}" data-file="{e(b[1])}">'
                    f"<figcaption>{e(b[2])}</figcaption></figure>"
                )
            elif kind == "pre":
                body.append(f"<pre>{e(b[1])}</pre>")
        return _HTML.format(title=e(self.title), css=_CSS, body="\n".join(body), script=_SCRIPT)


def _md_cell(c: Any) -> str:
    text = c[0] if isinstance(c, tuple) else c
    return str(text).replace("|", "\\|").replace("\n", "<br>")


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
  margin:2em auto;max-width:1180px;padding:0 1.2em;color:#1d2329;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.1em}
h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #d8dde3;padding-bottom:.2em}
.sub{color:#5b6670;margin-top:0}
.headline{background:#f3f7fb;border-left:4px solid #2f6fae;padding:.6em 1em;margin:1em 0}
.headline p{margin:.35em 0} .headline .top{font-weight:600;font-size:1.05em}
table{border-collapse:collapse;font-size:.84em;margin:.6em 0}
.tw{overflow-x:auto}
th,td{border:1px solid #dfe3e8;padding:.28em .5em;text-align:right;white-space:nowrap}
th{background:#f5f6f8;white-space:normal;vertical-align:bottom} td:first-child,th:first-child,td.l{text-align:left}
td.kpi{white-space:normal;min-width:11em}
td.good{background:#e3f4e6;color:#125a22} td.bad{background:#fbe6e6;color:#8a1616}
td.changed{background:#fff2cc;font-weight:600} td.champ{font-weight:600} td.dim{color:#8a939c}
figure{margin:1em 0} img{max-width:100%;height:auto;border:1px solid #eceff2}
figcaption{font-size:.85em;color:#5b6670}
pre{background:#f6f8fa;padding:.8em;overflow-x:auto;font-size:.82em}
"""

_SCRIPT = """
(function(){
  var imgs=document.querySelectorAll('img');
  imgs.forEach(function(im){
    function fail(){ im.setAttribute('data-failed','1'); }
    function ok(){ if(im.naturalWidth>0){ im.setAttribute('data-loaded','1'); } else { fail(); } }
    if(im.complete){ ok(); } else { im.addEventListener('load', ok); im.addEventListener('error', fail); }
  });
  document.body.setAttribute('data-images',String(imgs.length));
})();
"""

_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><style>{css}</style></head>
<body>
{body}
<script>{script}</script>
</body></html>
"""


# ------------------------------------------------------------------ folders ---------------
def folder_kind(folder: str | Path) -> str:
    """``compare``, ``optimize`` or ``run``: what kind of result folder ``folder`` is.

    Raises
    ------
    InputError
        When ``folder`` is not a directory or holds none of the expected files.
    """
    f = Path(folder)
    if not f.is_dir():
        raise InputError(f"folder = {str(folder)!r}: no such folder")
    if (f / "comparison.csv").is_file():
        return "compare"
    if any((f / n).is_file() for n in ("best_policy.toml", "trials.csv", "validation.json")):
        return "optimize"
    if (f / "summary.json").is_file():
        return "run"
    raise InputError(
        f"folder = {str(folder)!r}: not a collectsim result folder (no summary.json, comparison.csv, "
        "trials.csv, best_policy.toml or validation.json)"
    )


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read JSON ({e})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def build_report(folder: str | Path) -> list[Path]:
    """(Re)build ``report.html`` and ``report.md`` (and the plots) of a result folder.

    Parameters
    ----------
    folder:
        A ``collectsim run``, ``compare`` or optimizer result folder.

    Returns
    -------
    list of pathlib.Path
        ``report.html``, ``report.md`` and the PNG files the report shows.
    """
    f = Path(folder)
    kind = folder_kind(f)
    page = {"compare": _compare_page, "optimize": _optimize_page, "run": _run_page}[kind](f)
    _write_atomic(f / "report.html", page.to_html(f))
    _write_atomic(f / "report.md", page.to_markdown())
    images = [f / b[1] for b in page.blocks if b[0] == "img"]
    return [f / "report.html", f / "report.md", *images]


def _provenance_rows(meta: dict) -> list[list[str]]:
    keys = [
        ("collectsim_version", "collectsim version"),
        ("git_commit", "git commit"),
        ("config_hash", "configuration hash"),
        ("seeds", "seeds"),
        ("seed", "seed"),
        ("experiment", "experiment"),
        ("source", "experiment file"),
        ("accounts", "accounts"),
        ("days", "days"),
        ("simulations", "simulations"),
        ("jobs", "jobs"),
        ("wall_seconds", "wall time (s)"),
        ("created_utc", "created (UTC)"),
        ("command", "command"),
        ("python", "Python"),
        ("mesa", "Mesa"),
        ("numpy", "NumPy"),
        ("pandas", "pandas"),
        ("optuna", "Optuna"),
    ]
    rows = []
    for k, label in keys:
        if k not in meta or meta[k] in (None, ""):
            continue
        v = meta[k]
        if k == "seeds" and isinstance(v, list):
            v = _seeds(v)
        elif k == "wall_seconds":
            v = f"{float(v):.1f}"
        elif isinstance(v, int) and not isinstance(v, bool):
            v = f"{v:,}" if k in ("accounts", "simulations") else str(v)
        rows.append([(label, "l"), (str(v), "l")])
    return rows


def _seeds(seeds: Sequence[int]) -> str:
    s = list(seeds)
    if s and s == list(range(s[0], s[0] + len(s))):
        return f"{s[0]}–{s[-1]} ({len(s)} seeds)" if len(s) > 1 else str(s[0])
    return ", ".join(map(str, s))


# ------------------------------------------------------------------ compare page ----------
def _sig_class(kpi: str, lo: float, hi: float) -> str:
    better = KPIS[kpi].higher_is_better
    if better is None or not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0 <= hi:
        return ""
    up = lo > 0
    return "good" if up == better else "bad"


def _compare_page(folder: Path) -> Page:
    from collectsim.reports.compare_plots import write_compare_plots

    summary = _read_json(folder / "summary.json")
    for key in ("champion", "challengers", "headline"):
        if key not in summary:
            raise InputError(f"{folder / 'summary.json'}: missing {key!r}; not a comparison summary")
    table = pd.read_csv(folder / "comparison.csv")
    daily = pd.read_parquet(folder / "daily.parquet")
    meta = summary.get("meta", {})
    champion = summary["champion"]
    policies = [champion, *summary["challengers"]]
    head = summary["headline"]
    also = [k for k in summary.get("headline_also", []) if k != head]
    per = int(summary.get("per_accounts", 0) or 0)
    level = float(summary.get("level", 0.95))
    lv = int(round(100 * level))
    stress = stress_table(table, head, also)
    images = write_compare_plots(folder, daily, table, stress, policies, head, [head, *also], level=level)

    n = int(summary.get("stopping", {}).get("reps", len(summary.get("seeds", []))))
    variants = summary.get("variants", [{"name": "base"}])
    page = Page(
        title=f"Champion versus challengers: {meta.get('experiment', folder.name)}",
        subtitle=(
            f"{int(meta.get('accounts', 0)):,} accounts × {meta.get('days', '?')} days; {n} paired replications "
            f"per policy (same seeds for every policy); {len(variants)} scenario(s). Champion: {champion}. "
            + (f"Money and counts are per {per:,} accounts." if per else "Money and counts are portfolio totals.")
        ),
    )
    page.add("lead", headline_sentences(table, summary))
    stop = summary.get("stopping", {})
    page.add("p", _stopping_text(stop, head))
    base = table[(table["variant"] == "base") & (table["scope"] == "all")]
    hb = base[(base["kpi"] == head) & (base["role"] == "challenger")]
    ratio = (hb["unpaired_ci_halfwidth"] / hb["diff_ci_halfwidth"]).replace([np.inf, -np.inf], np.nan).dropna()
    if len(ratio):
        r = float(ratio.median())
        gain = (
            f"Pairing made the {KPIS[head].label} intervals {r:.1f}× narrower (median over challengers) than an "
            "unpaired comparison of the same runs would give."
            if r >= 1.0
            else f"Here the paired intervals are not narrower than unpaired ones would be (ratio {r:.2f}): with "
            f"{n} replications the estimated spreads are themselves noisy; add replications (--reps, --target-ci)."
        )
        page.add(
            "p",
            f"Common random numbers: every policy met the same simulated borrowers and the same luck on the same "
            f"seeds, so each challenger's result pairs with the champion's. {gain}",
        )

    page.add("h2", "KPIs (base scenario, all accounts)")
    page.add(
        "p",
        f"Mean over replications with its {lv}% t interval; Δ is challenger − {champion} on the same seeds, "
        "with a paired "
        f"{lv}% interval; p is a paired {'t' if summary.get('test', 't') == 't' else 'Wilcoxon signed-rank'} test"
        f"{', Holm-adjusted across challengers' if summary.get('correction', 'holm') == 'holm' else ''}; "
        "P(better) is the share of replications in which the challenger did better. "
        "Green: clearly better, red: clearly worse.",
    )
    page.add("table", *_kpi_table(base, summary["kpis"], policies))
    page.add("h2", "Recovery curves")
    page.add(
        "img",
        "recovery_curves.png",
        "Cumulative recovery of every policy (left) and its paired difference to the champion (right)",
    )
    page.add("h2", "DPD-bucket flow")
    page.add("img", "bucket_flow.png", "Accounts by DPD bucket and by resolution, mean over replications")
    page.add("h2", "Complaints and churn")
    page.add("img", "complaints_churn.png", "Cumulative complaints and opt-outs per 1,000 accounts; churn")
    page.add("h2", "By risk tier")
    page.add("img", "tiers.png", "Per-tier means with 95% intervals")
    page.add("table", *_tier_table(table, [head, *also], policies))
    if len(variants) > 1 and len(stress):
        page.add("h2", "What-if stress")
        desc = "; ".join(
            f"{v['name']}: {v.get('description') or _overrides_text(v.get('overrides', {}))}" for v in variants[1:]
        )
        page.add("p", f"Every policy ran every variant on the same seeds. Variants — {desc}.")
        for v in dict.fromkeys(stress["variant"]):
            page.add("p", _ranking_text(stress, v, head))
        page.add(
            "p",
            "Ranks order the means; a rank change between policies whose intervals overlap is within the noise. "
            "The Δ column (paired against the champion) says whether a gap is clear.",
        )
        page.add("table", *_stress_table(stress, head, also, policies))
        if "stress.png" in images:
            page.add("img", "stress.png", f"{KPIS[head].label} under every variant")
    page.add("h2", "Policies")
    rows = []
    for p in policies:
        src = "rule table (policies/ in this folder)" if p in summary.get("policy_tables", {}) else "built-in"
        rows.append([(p, "l"), "champion" if p == champion else "challenger", (src, "l")])
    page.add("table", ["policy", "role", "source"], rows)
    page.add("h2", "Provenance")
    page.add("table", ["item", "value"], _provenance_rows(meta))
    page.add(
        "p",
        "Files: comparison.csv (every figure above, also per tier and variant), stress.csv, replications.parquet "
        "(one row per variant × policy × seed), daily.parquet, summary.json, config.toml (re-runnable), PNG plots.",
    )
    return page


def _stopping_text(stop: dict, head: str) -> str:
    reason = stop.get("reason", "fixed")
    n, hw, unit = stop.get("reps"), stop.get("achieved_halfwidth"), stop.get("unit", "")
    hw_s = format_diff(head, hw).lstrip("+") if hw is not None else "–"
    if reason == "fixed":
        return f"Replications: {n}, fixed in advance (largest {KPIS[head].label} difference half-width {hw_s}, {unit})."
    tgt = format_diff(head, stop.get("target_ci")).lstrip("+")
    if reason == "target reached":
        return (
            f"Replications: {n}, added until every headline difference was known to ±{tgt} ({unit}); "
            f"target reached (half-width {hw_s})."
        )
    if reason == "cap reached":
        return (
            f"Replications: {n}, the cap, reached before the target ±{tgt} ({unit}): the half-width is still {hw_s}. "
            "Read the headline with that precision in mind, or raise --max-reps."
        )
    return f"Replications: {n}; the headline half-width could not be computed ({reason})."


def _kpi_table(base: pd.DataFrame, kpis: Sequence[str], policies: Sequence[str]):
    cols = ["KPI", "policy", "mean [95% CI]", "Δ vs champion [95% CI]", "p (adj.)", "P(better)"]
    rows = []
    for kpi in kpis:
        sub = base[base["kpi"] == kpi].set_index("policy")
        first = True
        for p in policies:
            if p not in sub.index:
                continue
            r = sub.loc[p]
            unit = "" if str(r["unit"]) in KPIS[kpi].label else f" ({r['unit']})"
            label = (f"{KPIS[kpi].label}{unit}", "l kpi") if first else ""
            first = False
            mean = (
                f"{format_value(kpi, r['mean'])} {_interval(kpi, r['ci_low'], r['ci_high'])}"
                if np.isfinite(r["mean"])
                else "–"
            )
            if r["role"] == "champion":
                rows.append([label, (p, "l champ"), mean, "", "", ""])
                continue
            cls = _sig_class(kpi, r["diff_ci_low"], r["diff_ci_high"])
            pb = f"{100 * r['p_better']:.0f}%" if np.isfinite(r["p_better"]) else "–"
            diff = _diff_text(kpi, r)
            rows.append([label, (p, "l"), mean, (diff, cls), _p(r["p_adjusted"]), pb])
    return cols, rows


def _diff_text(kpi: str, r: pd.Series) -> str:
    if not np.isfinite(r["diff"]):
        return "–"
    return f"{format_diff(kpi, r['diff'])} {_interval(kpi, r['diff_ci_low'], r['diff_ci_high'], diff=True)}"


def _tier_table(table: pd.DataFrame, kpis: Sequence[str], policies: Sequence[str]):
    """Tier × policy rows; per KPI one cell: the mean, and for challengers Δ [95% CI] below it."""
    t = table[(table["variant"] == "base") & (table["scope"] != "all")]
    cols = ["tier", "policy", *[f"{KPIS[k].label}: mean / Δ [95% CI]" for k in kpis]]
    rows = []
    for tier in dict.fromkeys(t["scope"]):
        for p in policies:
            row: list[Any] = [(f"{tier} risk", "l"), (p, "l champ" if p == policies[0] else "l")]
            for k in kpis:
                s = t[(t["scope"] == tier) & (t["policy"] == p) & (t["kpi"] == k)]
                if s.empty:
                    row.append("–")
                    continue
                r = s.iloc[0]
                if p == policies[0]:
                    row.append(format_value(k, r["mean"]))
                else:
                    cls = _sig_class(k, r["diff_ci_low"], r["diff_ci_high"])
                    row.append((f"{format_value(k, r['mean'])}\n{_diff_text(k, r)}", cls))
            rows.append(row)
    return cols, rows


def _overrides_text(ov: dict, prefix: str = "") -> str:
    parts = []
    for k, v in ov.items():
        if isinstance(v, dict):
            parts.append(_overrides_text(v, f"{prefix}{k}."))
        elif isinstance(v, list) and v and all(isinstance(i, dict) for i in v):
            for i in v:
                name = i.get("name", "?")
                parts.append(_overrides_text({kk: vv for kk, vv in i.items() if kk != "name"}, f"{prefix}{k}[{name}]."))
        else:
            parts.append(f"{prefix}{k} = {v}")
    return ", ".join(p for p in parts if p)


def _ranking_text(stress: pd.DataFrame, variant: str, head: str) -> str:
    s = stress[stress["variant"] == variant].sort_values("rank")
    order = " > ".join(f"{p} ({format_value(head, m)})" for p, m in zip(s["policy"], s["mean"]))
    changed = s[s["rank_changed"]]
    if variant == "base":
        return f"Ranking on {KPIS[head].label}, base scenario: {order}."
    if changed.empty:
        return f"Under {variant}: {order} — same ranking as the base scenario."
    moves = ", ".join(
        f"{p} #{int(b)}→#{int(r)}" for p, b, r in zip(changed["policy"], changed["base_rank"], changed["rank"])
    )
    return f"Under {variant}: {order} — the ranking changes ({moves})."


def _stress_table(stress: pd.DataFrame, head: str, also: Sequence[str], policies: Sequence[str]):
    cols = [
        "scenario",
        "policy",
        f"{KPIS[head].label} [95% CI]",
        "rank",
        "Δ vs champion [95% CI]",
        *[KPIS[k].label for k in also],
    ]
    rows = []
    for v in dict.fromkeys(stress["variant"]):
        first = True
        for p in policies:
            s = stress[(stress["variant"] == v) & (stress["policy"] == p)]
            if s.empty:
                continue
            r = s.iloc[0]
            row: list[Any] = [(v, "l") if first else "", (p, "l champ" if p == policies[0] else "l")]
            first = False
            row.append(f"{format_value(head, r['mean'])} ±{format_diff(head, r['ci_halfwidth']).lstrip('+')}")
            rank = f"#{int(r['rank'])}" if pd.notna(r["rank"]) else "–"
            if bool(r["rank_changed"]):
                rank += f" (base #{int(r['base_rank'])})"
            row.append((rank, "changed" if bool(r["rank_changed"]) else ""))
            if p == policies[0]:
                row.append("")
            else:
                cls = _sig_class(head, r["diff_ci_low"], r["diff_ci_high"])
                row.append((_diff_text(head, r), cls))
            row += [format_value(k, r[k]) if k in r else "–" for k in also]
            rows.append(row)
    return cols, rows


# ------------------------------------------------------------------ run page --------------
def _run_page(folder: Path) -> Page:
    from collectsim.reports.plots import write_run_plots

    summary = _read_json(folder / "summary.json")
    k, segments, meta = summary.get("kpis", {}), summary.get("segments", {}), summary.get("meta", {})
    pol = meta.get("policy", "?")
    page = Page(
        title=f"Run: {meta.get('experiment', folder.name)} · {pol} · seed {meta.get('seed', '?')}",
        subtitle=f"{int(meta.get('accounts', k.get('accounts', 0)) or 0):,} accounts × {meta.get('days', '?')} days, "
        "one replication.",
    )
    if k:
        page.add(
            "lead",
            [
                _run_sentence(k, pol, meta),
                "One replication carries no interval: use `collectsim compare` for paired intervals "
                "against a champion.",
            ],
        )
        page.add("h2", "KPIs")
        page.add("table", *_kpi_value_table(k))
    if segments:
        page.add("h2", "By risk tier")
        page.add("table", *_segment_table(segments))
    if k.get("contacts"):
        page.add("h2", "Contacts")
        chans = list(k["contacts"])
        page.add(
            "table",
            ["", *chans],
            [
                [("executed", "l"), *[f"{k['contacts'][c]:,}" for c in chans]],
                [("reached", "l"), *[f"{k.get('reached', {}).get(c, 0):,}" for c in chans]],
            ],
        )
    if k.get("blocked") or k.get("violations") is not None:
        rows = [[(f"blocked by {r}", "l"), f"{v:,}"] for r, v in (k.get("blocked") or {}).items()]
        if k.get("violations_total") is not None:
            rows.append([("violations found by the audit", "l"), str(k["violations_total"])])
        page.add("h2", "Contact rules")
        page.add("table", ["", "count"], rows)
    pngs = ["recovery.png", "bucket_flow.png", "contacts.png"]
    if not all((folder / p).is_file() for p in pngs) and (folder / "daily.parquet").is_file():
        write_run_plots(
            pd.read_parquet(folder / "daily.parquet"), folder, title=f"{meta.get('experiment', '')} · {pol}"
        )
    captions = {
        "recovery.png": "Recovery curve",
        "bucket_flow.png": "DPD-bucket flow",
        "contacts.png": "Contacts and complaints by day",
    }
    shown = [p for p in pngs if (folder / p).is_file()]
    if shown:
        page.add("h2", "Plots")
        for p in shown:
            page.add("img", p, captions[p])
    if summary.get("policy"):
        page.add("h2", "Policy")
        page.add("pre", _toml_text({"policy": summary["policy"]}))
    page.add("h2", "Provenance")
    page.add("table", ["item", "value"], _provenance_rows(meta))
    return page


def _run_sentence(k: dict, pol: str, meta: dict) -> str:
    acc = k.get("accounts") or meta.get("accounts") or 0
    nr = k.get("net_recovery")
    per = f" (net recovery {_num(1000 * nr / acc)} per 1,000 accounts)" if acc and nr is not None else ""
    parts = [
        f"Policy {pol} recovered {format_value('recovery_rate', k.get('recovery_rate'))} of the balance at entry{per}"
    ]
    if k.get("complaints_per_1k") is not None:
        parts.append(f"with {_num(k['complaints_per_1k'])} complaints per 1,000 accounts worked")
    if k.get("churn_rate") is not None:
        parts.append(f"and a churn rate of {format_value('churn_rate', k['churn_rate'])}")
    return " ".join(parts) + f" over {meta.get('days', '?')} days."


def _kpi_value_table(k: dict):
    names = [n for n in DEFAULT_KPIS if n in k] + [n for n in KPIS if n in k and n not in DEFAULT_KPIS]
    names += [n for n, v in k.items() if n not in names and isinstance(v, (int, float)) and not isinstance(v, bool)]
    rows = []
    for n in names:
        label = KPIS[n].label if n in KPIS else n.replace("_", " ")
        rows.append([(label, "l"), (n, "l dim"), format_value(n, k[n]) if k[n] is not None else "–"])
    return ["KPI", "name", "value"], rows


def _segment_table(segments: dict):
    tiers = list(segments)
    rows = [[("accounts", "l"), *[f"{int(segments[t].get('accounts', 0)):,}" for t in tiers]]]
    for n in DEFAULT_KPIS:
        if all(n in segments[t] for t in tiers):
            rows.append(
                [
                    (KPIS[n].label, "l"),
                    *[format_value(n, segments[t][n]) if segments[t][n] is not None else "–" for t in tiers],
                ]
            )
    return ["KPI", *[f"{t} risk" for t in tiers]], rows


def _toml_text(data: dict) -> str:
    import tomli_w

    try:
        return tomli_w.dumps(data)
    except (TypeError, ValueError):
        return json.dumps(data, indent=2)


# ------------------------------------------------------------------ optimize page ---------
#: Plots an optimizer folder may hold (written by the optimizer), in report order.
_OPTIMIZE_PLOTS = {
    "history.png": "Optimization history",
    "pareto_front.png": "Trade-off between the objectives",
    "importances.png": "Parameter importances",
}


def _optimize_page(folder: Path) -> Page:
    """An optimizer folder: whichever of validation.json, trials.csv, best_policy.toml, plots it holds."""
    page = Page(title=f"Optimization: {folder.name}", subtitle="Optimizer result folder.")
    docs: dict[str, dict] = {}
    for name in ("validation.json", "summary.json"):
        if (folder / name).is_file():
            try:
                docs[name] = _read_json(folder / name)
            except InputError as e:
                page.add("p", f"{name} could not be read: {e}")
    validation, summary = docs.get("validation.json", {}), docs.get("summary.json", {})
    meta = next((d["meta"] for d in (validation, summary) if isinstance(d.get("meta"), dict)), {})
    if meta.get("experiment"):
        page.title = f"Optimization: {meta['experiment']}"
    best = validation.get("best") if isinstance(validation.get("best"), dict) else None
    if best:
        note = [str(best["note"])] if best.get("note") and best.get("role") != "champion" else []
        page.add("lead", [_optimize_sentence(best, validation), *note])
    if validation:
        page.add("h2", "Validation")
        shown = {k: validation[k] for k in ("objective", "best", "replications", "search") if k in validation}
        if not shown:  # an unknown layout: show it all, flattened
            shown = {k: v for k, v in validation.items() if k != "meta"}
        flat = _flatten(shown)
        rows = [[(key, "l"), (_fmt_any(key, v), "l")] for key, v in list(flat.items())[:200]]
        page.add("table", ["field", "value"], rows)
        if isinstance(validation.get("candidates"), list):
            page.add("p", f"{len(validation['candidates'])} validated candidate(s); details in validation.json.")
    plots = [n for n in _OPTIMIZE_PLOTS if (folder / n).is_file()]
    trials = None
    if (folder / "trials.csv").is_file():
        try:
            trials = pd.read_csv(folder / "trials.csv")
        except (OSError, ValueError) as e:
            page.add("p", f"trials.csv could not be read: {e}")
    if trials is not None or plots:
        page.add("h2", "Trials")
    if trials is not None:
        direction = str(validation.get("direction") or summary.get("direction") or "maximize")
        value_col = next((c for c in ("objective", "value", "values_0") if c in trials.columns), None)
        ok = value_col is not None and trials[value_col].notna().any()
        page.add("p", f"{len(trials):,} trials" + (f"; objective column '{value_col}'." if ok else "."))
        if ok and not plots:
            _plot_trials(trials, value_col, direction, folder / "optimize_trials.png")
            plots = ["optimize_trials.png"]
        if ok:
            top = trials.sort_values(value_col, ascending=direction.startswith("min")).head(10)
            cols = [c for c in top.columns if not c.startswith(("datetime", "duration", "system_attrs"))][:10]
            rows = [[_fmt_any(c, v) for c, v in zip(cols, r, strict=True)] for r in top[cols].itertuples(index=False)]
            page.add("table", cols, rows)
    for name in plots:
        page.add("img", name, _OPTIMIZE_PLOTS.get(name, "Objective of every trial and the best so far"))
    if (folder / "best_policy.toml").is_file():
        page.add("h2", "Best policy")
        text = (folder / "best_policy.toml").read_text(errors="replace")
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            page.add("p", f"best_policy.toml does not parse: {e}")
        page.add("pre", text)
    if summary.get("kpis"):
        page.add("h2", "KPIs")
        page.add("table", *_kpi_value_table(summary["kpis"]))
    if meta:
        page.add("h2", "Provenance")
        page.add("table", ["item", "value"], _provenance_rows(meta))
    if len(page.blocks) == 0:
        page.add("p", "The folder holds no readable optimizer files yet.")
    return page


def _optimize_sentence(best: dict, validation: dict) -> str:
    name = best.get("name") or "the best policy"
    trial = f" (trial {best['trial']})" if best.get("trial") is not None else ""
    n = validation.get("replications")
    reps = f" on {n} validation replications" if n else " on the validation seeds"
    if best.get("role") == "champion":
        return f"No candidate beat the champion{reps}; the champion {name} is retained."
    ci = best.get("ci95")
    ci_s = (
        f" (95% CI {_num(ci[0])} to {_num(ci[1])})" if isinstance(ci, list) and len(ci) == 2 and None not in ci else ""
    )
    imp = best.get("improvement")
    imp_s = f" improves the objective by {_num(float(imp), signed=True)}{ci_s}" if isinstance(imp, (int, float)) else ""
    verdict = " and beats the champion" if best.get("beats_champion") else ""
    return f"Recommended policy {name}{trial}{imp_s}{reps}{verdict}."


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    elif isinstance(d, list) and len(d) <= 20 and all(isinstance(x, (dict, list)) for x in d):
        for i, v in enumerate(d):
            out.update(_flatten(v, f"{prefix}{i}."))
    else:
        out[prefix.rstrip(".")] = d
    return out


def _fmt_any(key: str, v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        last = str(key).rsplit(".", 1)[-1]
        return format_value(last, float(v)) if last in KPIS else _num(float(v))
    if isinstance(v, list):
        return ", ".join(map(str, v))[:200]
    return str(v)[:200]


def _plot_trials(trials: pd.DataFrame, col: str, direction: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = trials["number"].to_numpy() if "number" in trials.columns else np.arange(len(trials))
    y = trials[col].to_numpy(float)
    best = pd.Series(y).cummin() if direction.startswith("min") else pd.Series(y).cummax()
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.scatter(x, y, s=10, alpha=0.6, label="trial")
    ax.plot(x, best.to_numpy(), color="crimson", label="best so far")
    ax.set(xlabel="trial", ylabel=col, title="Optimization history")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
