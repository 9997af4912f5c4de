"""The self-contained HTML cost report and markdown previews of the rollups (no PHI: doc_ids,
pseudonymous patient keys, models and figures only)."""

import html
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from medpipeline.costs import OFFLINE_PROVIDER
from medpipeline.storage import DataLayout, write_atomic

REPORT_FILE = "cost_report.html"
FORECAST_FILE = "cost_forecast.parquet"
_DOCUMENT_ROWS = 25
_COLOURS = ("#3b6fb6", "#e07b39", "#4f9d69", "#b8474a", "#8064a2", "#5aa9b8", "#9c8a4f")


def report_path(layout: DataLayout) -> Path:
    return layout.root / "reports" / REPORT_FILE


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def markdown_table(connection: duckdb.DuckDBPyConnection, sql: str, limit: int = 20) -> str:
    """A query's first rows as a markdown table (for Dagster metadata)."""
    cursor = connection.execute(f"SELECT * FROM ({sql}) LIMIT {int(limit)}")
    names = [column[0] for column in cursor.description]
    rows = cursor.fetchall()
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) if rows else "_no rows_"


def _html_table(connection, sql: str) -> str:
    cursor = connection.execute(sql)
    names = [column[0] for column in cursor.description]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in cursor.fetchall()
    )
    return f"<table><tr>{head}</tr>{body or '<tr><td>no rows</td></tr>'}</table>"


def _bars(items: list[tuple[str, float]], unit: str, width: int = 640) -> str:
    """Horizontal bar chart as inline SVG."""
    if not items:
        return "<p>no data</p>"
    top = max(value for _, value in items) or 1.0
    row, label_w = 22, 190
    parts = []
    for i, (label, value) in enumerate(items):
        length = (width - label_w - 90) * value / top
        y = i * row
        parts.append(
            f'<text x="0" y="{y + 15}">{html.escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row - 6}" '
            f'fill="{_COLOURS[0]}"/>'
            f'<text x="{label_w + length + 4:.1f}" y="{y + 15}">{value:.4g} {unit}</text>'
        )
    return f'<svg width="{width}" height="{row * len(items)}">{"".join(parts)}</svg>'


def _stacked_days(connection) -> str:
    rows = connection.execute(
        "SELECT day, provider || '/' || model AS model, sum(cost_usd) FROM daily_costs "
        "GROUP BY ALL ORDER BY day"
    ).fetchall()
    if not rows:
        return "<p>no data</p>"
    days = sorted({day for day, _, _ in rows})[-60:]
    models = sorted({model for _, model, _ in rows})
    cost = {(day, model): value for day, model, value in rows}
    totals = [sum(cost.get((d, m), 0.0) for m in models) for d in days]
    top = max(totals) or 1.0
    height, bar = 220, max(4, min(24, 600 // len(days)))
    parts = []
    for i, day in enumerate(days):
        y = height
        for j, model in enumerate(models):
            h = height * cost.get((day, model), 0.0) / top
            y -= h
            parts.append(
                f'<rect x="{60 + i * (bar + 2)}" y="{y:.1f}" width="{bar}" height="{h:.1f}" '
                f'fill="{_COLOURS[j % len(_COLOURS)]}"><title>{day} {html.escape(model)}: '
                f"${cost.get((day, model), 0.0):.4f}</title></rect>"
            )
    legend = "".join(
        f'<span class="key" style="background:{_COLOURS[j % len(_COLOURS)]}"></span>'
        f"{html.escape(m)} "
        for j, m in enumerate(models)
    )
    width = 80 + len(days) * (bar + 2)
    axis = (
        f'<text x="0" y="12">${top:.4g}</text><text x="0" y="{height}">$0</text>'
        f'<text x="60" y="{height + 16}">{days[0]}</text>'
        f'<text x="{max(width - 90, 140)}" y="{height + 16}">{days[-1]}</text>'
    )
    return (
        f'<svg width="{width}" height="{height + 20}">{axis}{"".join(parts)}</svg><p>{legend}</p>'
    )


def _histogram(connection) -> str:
    values = [
        row[0]
        for row in connection.execute(
            "SELECT cost_usd FROM document_costs WHERE cost_usd > 0"
        ).fetchall()
    ]
    if not values:
        return "<p>no priced documents</p>"
    low, high, bins = min(values), max(values), 20
    step = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / step), bins - 1)] += 1
    return _bars(
        [(f"${low + i * step:.4f}–{low + (i + 1) * step:.4f}", c) for i, c in enumerate(counts)],
        "docs",
    )


def forecast_path(layout: DataLayout) -> Path:
    """Where the cost_forecast asset writes its rows (read here; priced in analytics.forecast)."""
    return report_path(layout).with_name(FORECAST_FILE)


def _offline_story(connection, spend: float) -> str:
    """Why the spend is zero, when it is zero because only the offline provider ran."""
    providers = [
        row[0] for row in connection.execute("SELECT DISTINCT provider FROM llm_calls").fetchall()
    ]
    if spend or providers != [OFFLINE_PROVIDER]:
        return ""
    return (
        '<p class="story"><b>Spend is $0 by design:</b> every extraction ran on the offline '
        "clinical-rules provider (no LLM API key is set), which makes no API call. The section "
        "below shows what the same documents would have cost on each candidate model.</p>"
    )


def _would_cost(connection, forecast: Path | None) -> str:
    """Per model and per document: the forecast price of the processed documents, live and
    batch (the rows of cost_forecast; no second pricing path)."""
    if forecast is None or not forecast.exists():
        return "<p>cost_forecast has not been materialized yet.</p>"
    quoted = str(forecast).replace("'", "''")
    rows = f"read_parquet('{quoted}') WHERE source <> 'inbox'"
    totals = _html_table(
        connection,
        "SELECT provider || '/' || model AS model, count(*) AS documents, "
        "sum(chunks) AS chunks, sum(prompt_tokens) AS prompt_tokens, "
        "sum(output_tokens) AS output_tokens, round(sum(standard_usd), 4) AS live_usd, "
        "round(sum(batch_usd), 4) AS batch_usd, bool_and(calibrated) AS calibrated "
        f"FROM {rows} GROUP BY ALL ORDER BY live_usd",
    )
    per_document = connection.execute(
        "SELECT doc_id, any_value(chunks), any_value(chunk_tokens), "
        "list(provider || '/' || model ORDER BY provider, model), "
        "list(standard_usd ORDER BY provider, model), list(batch_usd ORDER BY provider, model) "
        f"FROM {rows} GROUP BY doc_id ORDER BY max(standard_usd) DESC LIMIT {_DOCUMENT_ROWS}"
    ).fetchall()
    if not per_document:
        return "<p>no processed documents to price</p>"
    models = per_document[0][3]
    head = "".join(f"<th>{html.escape(m)}<br>live / batch USD</th>" for m in models)
    body = "".join(
        f"<tr><td>{html.escape(doc_id)}</td><td>{chunks}</td><td>{tokens}</td>"
        + "".join(
            f"<td>{live:.4f} / {batch:.4f}</td>" for live, batch in zip(lives, batches, strict=True)
        )
        + "</tr>"
        for doc_id, chunks, tokens, _, lives, batches in per_document
    )
    return (
        f"{totals}<h3>Per document (the {_DOCUMENT_ROWS} most expensive)</h3>"
        f"<table><tr><th>doc_id</th><th>chunks</th><th>chunk tokens</th>{head}</tr>{body}</table>"
        "<p>Tokens: the documents' chunks (o200k) plus the prompt overhead of every call; output "
        "tokens estimated per chunk token unless calibrated from the model's history in the "
        "ledger. Prices: genai-prices, live and batch.</p>"
    )


def render_report(
    warehouse_db: Path, forecast: Path | None = None, *, generated_at: datetime | None = None
) -> str:
    generated_at = generated_at or datetime.now(UTC)
    with duckdb.connect(str(warehouse_db), read_only=True) as connection:
        headline = connection.execute(
            "SELECT cost_usd, documents, calls, cost_per_document, cost_per_page, "
            "cost_per_fhir_resource, prompt_cache_hit_rate, response_cache_hit_rate, "
            "error_rate, fallback_rate, p50_latency_ms, p95_latency_ms FROM cost_metrics"
        ).fetchone()
        names = (
            "total spend (USD)", "documents", "calls", "per document", "per page",
            "per FHIR resource", "prompt-cache hit rate", "response-cache hit rate",
            "error rate", "fallback rate", "p50 latency (ms)", "p95 latency (ms)",
        )  # fmt: skip
        tiles = "".join(
            f'<div class="tile"><b>{_fmt(v)}</b><br>{n}</div>'
            for n, v in zip(names, headline, strict=True)
        )
        cache = connection.execute(
            "SELECT provider || '/' || model, coalesce(prompt_cache_hit_rate, 0), "
            "response_cache_hit_rate FROM model_costs ORDER BY 1"
        ).fetchall()
        story = _offline_story(connection, headline[0] or 0.0)
        sections = [
            (
                "What these documents would cost on each candidate model",
                _would_cost(connection, forecast),
            ),
            ("Daily spend by model (USD, last 60 days)", _stacked_days(connection)),
            ("Cost per document (distribution)", _histogram(connection)),
            (
                "Prompt-cache hit rate by model (token share)",
                _bars([(m, p * 100) for m, p, _ in cache], "%"),
            ),
            (
                "Response-cache hit rate by model (call share)",
                _bars([(m, r * 100) for m, _, r in cache], "%"),
            ),
            (
                "Most expensive documents",
                _html_table(
                    connection,
                    "SELECT doc_id, round(cost_usd, 6) AS cost_usd, calls, pages, "
                    "round(cost_per_page, 6) AS cost_per_page, providers FROM document_costs "
                    "ORDER BY cost_usd DESC LIMIT 15",
                ),
            ),
            (
                "Failures by error class",
                _html_table(
                    connection,
                    "SELECT error_class, provider, model, count(*) AS failures, "
                    "count(DISTINCT doc_id) AS documents FROM llm_calls "
                    "WHERE outcome = 'error' GROUP BY ALL ORDER BY failures DESC",
                ),
            ),
            (
                "Unpriced calls (models genai-prices does not know: cost unknown, not in spend)",
                _html_table(
                    connection,
                    "SELECT provider, model, unpriced_calls, unpriced_tokens FROM model_costs "
                    "WHERE unpriced_calls > 0 ORDER BY unpriced_tokens DESC",
                ),
            ),
            (
                "Budget alerts",
                _html_table(
                    connection,
                    "SELECT budget, scope, round(cost_usd, 6) AS cost_usd, budget_usd, "
                    "severity FROM budget_alerts LIMIT 50",
                ),
            ),
        ]
    body = "".join(f"<section><h2>{title}</h2>{content}</section>" for title, content in sections)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>MedPipeline cost report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1100px; }}
.tile {{ display: inline-block; margin: .3em; padding: .6em 1em; background: #f1f4f9;
        border-radius: 6px; min-width: 9em; }}
.tile b {{ font-size: 1.3em; }}
.story {{ background: #fff8e1; border-left: 4px solid #f9a825; padding: .6em 1em; }}
table {{ border-collapse: collapse; }} td, th {{ padding: .2em .7em; border-bottom: 1px solid #ddd;
        text-align: left; font-variant-numeric: tabular-nums; }}
svg text {{ font-size: 11px; }} .key {{ display: inline-block; width: 1em; height: 1em;
        margin: 0 .3em 0 1em; vertical-align: middle; }}
</style></head><body>
<h1>MedPipeline LLM cost report</h1>
<p>Generated {generated_at:%Y-%m-%d %H:%M} UTC from data/warehouse/medpipeline.duckdb.
Documents are named by doc_id only.</p>
<div>{tiles}</div>{story}{body}
</body></html>
"""


def write_report(layout: DataLayout) -> Path:
    target = report_path(layout)
    write_atomic(target, render_report(layout.warehouse_db, forecast_path(layout)).encode("utf-8"))
    return target
