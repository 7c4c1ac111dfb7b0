"""Files bulletin's RPCs return (CSV, XLSX, HTML, PDF): bytes, base64 in a JSON-able envelope that the
gateway turns back into a response with the content type and a download name."""
from __future__ import annotations

import base64
import csv
import io
from collections.abc import Sequence
from typing import Any

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HTML = "text/html; charset=utf-8"
PDF = "application/pdf"

Sheet = tuple[str, Sequence[str], Sequence[Sequence[Any]]]   # (title, header, rows)


def file_result(body: bytes, content_type: str, filename: str) -> dict[str, Any]:
    """{"content_type", "filename", "encoding": "base64", "size", "body"}: what a file-returning RPC answers."""
    return {"content_type": content_type, "filename": filename, "encoding": "base64", "size": len(body),
            "body": base64.b64encode(body).decode("ascii")}


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese labels right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for title, header, rows in sheets:
        ws = wb.create_sheet(title=title[:31])
        ws.append(list(header))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append([_cell(v) for v in row])
        for column, name in zip(ws.columns, header, strict=False):
            width = max([len(str(name)) * 2] + [len(str(c.value or "")) for c in column][:200])
            ws.column_dimensions[column[0].column_letter].width = min(60, max(8, width + 2))
        ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value)
    if isinstance(value, dict):
        return str(value)
    return value
