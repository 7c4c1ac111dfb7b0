"""A bulletin's content as HTML (Jinja2) and PDF (WeasyPrint, with Debian's fonts-noto-cjk), its charts
drawn here as inline SVG (R16). WeasyPrint is imported only when a PDF is made."""
from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from . import metrics
from .domain import LISTS

TEMPLATES = Path(__file__).parent / "templates"
FONT = "'Noto Sans CJK SC', 'Noto Sans SC', 'Noto Serif CJK SC', 'WenQuanYi Zen Hei', sans-serif"
COLORS = ("#b22222", "#1f5fa8", "#2e8b57", "#c77c02", "#6a3d9a", "#17807e", "#8c564b", "#d62790")

_env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                   trim_blocks=True, lstrip_blocks=True)


def bar_chart(rows: Sequence[Mapping[str, Any]], *, title: str, limit: int = 12, width: int = 640) -> Markup:
    """Horizontal bars of `value` per `label`, the previous period's value as a grey tick."""
    rows = list(rows)[:limit]
    if not rows:
        return Markup("")
    bar_h, gap, left, right, top = 18, 8, 150, 90, 6
    height = top + len(rows) * (bar_h + gap) + 8
    peak = max(max(int(r.get("value", 0)), int(r.get("previous", 0) or 0)) for r in rows) or 1
    scale = (width - left - right) / peak
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="{escape(FONT)}" font-size="12" role="img">',
             f'<title>{escape(title)}</title>']
    for i, r in enumerate(rows):
        y = top + i * (bar_h + gap)
        value, previous = int(r.get("value", 0)), int(r.get("previous", 0) or 0)
        w = max(1.0, value * scale) if value else 0.0
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{escape(str(r["label"]))[:24]}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{COLORS[i % len(COLORS)]}"/>')
        if previous:
            px = left + previous * scale
            parts.append(f'<line x1="{px:.1f}" y1="{y - 2}" x2="{px:.1f}" y2="{y + bar_h + 2}" stroke="#555" '
                         f'stroke-width="2" stroke-dasharray="3,2"/>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 13}">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


def _change_words(row: Mapping[str, Any]) -> str:
    """"较上期增加12件（+8.5%）" and the like."""
    delta = int(row.get("change", 0))
    pct = row.get("change_pct")
    if delta == 0:
        return "与上期持平"
    word = "增加" if delta > 0 else "减少"
    tail = f"（{_signed(int(delta))}，{pct:+.1f}%）" if pct is not None else ""
    return f"较上期{word}{abs(delta)}件{tail}"


_env.filters["percent"] = metrics.percent
_env.filters["signed"] = _signed
_env.globals["change_words"] = _change_words


def html(bulletin: Mapping[str, Any], *, issuer: str) -> str:
    content = bulletin["content"]
    charts = {
        "type": bar_chart(content["by_type"], title="按诉求类型"),
        "category": bar_chart(content["by_category"], title="按诉求类别（含下级类别）", limit=10),
        "district": bar_chart(content["by_district"], title="按区域"),
    }
    unit_metrics = [m for m in metrics.METRICS if m.kind == "rate"]
    return _env.get_template("bulletin.html.j2").render(
        b=bulletin, c=content, charts=charts, lists=LISTS, issuer=issuer, font=FONT,
        unit_metrics=unit_metrics)


_IMPORT = threading.Lock()


def pdf(html_text: str) -> bytes:
    with _IMPORT:  # two first PDFs at once (the timer and a request) must not see a half-imported module
        from weasyprint import HTML  # heavy: only where a PDF is made

    return bytes(HTML(string=html_text, base_url=str(TEMPLATES)).write_pdf())
