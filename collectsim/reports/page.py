"""A report page as a list of blocks, rendered to self-contained HTML and to Markdown.

Blocks are tuples: ``("h2", text)``, ``("h3", text)``, ``("p", text)``, ``("lead", [sentences])``,
``("table", columns, rows)`` (a cell is a string or ``(string, css_class)``),
``("img", file_name, caption)``, ``("pre", text)``. The HTML embeds every plot as a base64
PNG (opens offline, one file to e-mail); the Markdown references the PNG files next to it.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Page", "md_text"]

# ------------------------------------------------------------------ page model -------------
@dataclass
class Page:
    """A report page as blocks, rendered to HTML and Markdown.

    Blocks are tuples: ``("h2", text)``, ``("h3", text)``, ``("p", text)``, ``("lead", [sentences])``,
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
        """The page as Markdown (images referenced by file name).

        Every text is escaped (:func:`md_text`): a user-given name (an experiment, a policy,
        a variant) shows as text, never as HTML or Markdown markup.
        """
        t = md_text
        out = [f"# {t(self.title)}", ""]
        if self.subtitle:
            out += [t(self.subtitle), ""]
        for b in self.blocks:
            kind = b[0]
            if kind == "h2":
                out += [f"## {t(b[1])}", ""]
            elif kind == "h3":
                out += [f"### {t(b[1])}", ""]
            elif kind == "p":
                out += [t(b[1]), ""]
            elif kind == "lead":
                for i, s in enumerate(b[1]):
                    out += [f"**{t(s)}**" if i == 0 else t(s), ""]
            elif kind == "table":
                cols, rows = b[1], b[2]
                out.append("| " + " | ".join(_md_cell(c) for c in cols) + " |")
                out.append("|" + "|".join("---" for _ in cols) + "|")
                for r in rows:
                    out.append("| " + " | ".join(_md_cell(c) for c in r) + " |")
                out.append("")
            elif kind == "img":
                out += [f"![{t(b[2])}]({_md_link(b[1])})", ""]
            elif kind == "pre":
                text = b[1].rstrip("\n")
                fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", text)), default=0))
                out += [fence, text, fence, ""]
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
            elif kind == "h3":
                body.append(f"<h3>{e(b[1])}</h3>")
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

def md_text(text: Any) -> str:
    """``text`` as literal Markdown text: HTML special characters as entities, Markdown
    punctuation that could open markup (links, images, emphasis, code) backslash-escaped,
    and line breaks as spaces (a name cannot start a new block)."""
    s = html.escape(str(text), quote=False)
    s = " ".join(s.splitlines()) if ("\n" in s or "\r" in s) else s
    s = _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), s)
    s = _MD_UNDERSCORE.sub(r"\\_", s)
    return "\\" + s if s[:1] in ("#", "-", "+", "=", "|") else s


_MD_SPECIAL = re.compile(r"[\\`*~]|\](?=[(\[])|!(?=\[)")
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def _md_link(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_./" else f"%{ord(ch):02X}" for ch in str(name))


def _md_cell(c: Any) -> str:
    text = c[0] if isinstance(c, tuple) else c
    return "<br>".join(md_text(line).replace("|", "\\|") for line in str(text).split("\n"))

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
