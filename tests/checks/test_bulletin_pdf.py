"""The bulletin as a PDF (R16): rendered with WeasyPrint and Debian's fonts-noto-cjk, its text (read back
with pdftotext) carries the Chinese unit names and the figures, and page 1 is left as a PNG in
tests/artifacts/ for a person to look at. Needs the system packages that tools/ensure-system-packages.sh
installs (poppler-utils, fonts-noto-cjk, WeasyPrint's pango)."""
import base64
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from hotline_common.actors import Actor
from services.bulletin.fakes import BulletinKit
from tests.unit.test_bulletin_handlers import september

CONFIG = Path(__file__).resolve().parents[2] / "config"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
BJ = timezone(timedelta(hours=8))
OPERATOR = Actor("operator.1", "operator")


@pytest.fixture(scope="module")
def pdf_text(tmp_path_factory):
    kit = BulletinKit(datetime(2026, 9, 1, 8, tzinfo=BJ).astimezone(UTC), CONFIG, render_pdf=True)
    september(kit)
    kit.clock.set(datetime(2026, 10, 1, 9, tzinfo=BJ).astimezone(UTC))
    made = kit.execute("publish_bulletin", OPERATOR, body={"kind": "monthly", "period": "2026-09"})
    got = kit.execute("get_bulletin", OPERATOR, params={"bulletin_id": made["id"]}, query={"format": "pdf"})
    assert got["content_type"] == "application/pdf" and got["filename"] == "monthly-2026-09.pdf"
    body = base64.b64decode(got["body"])
    assert body.startswith(b"%PDF-")
    path = tmp_path_factory.mktemp("bulletin") / "monthly-2026-09.pdf"
    path.write_bytes(body)
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(path),
                    str(ARTIFACTS / "bulletin-monthly-2026-09-page1")], check=True, timeout=60)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True,
                          timeout=60).stdout
    return " ".join(text.split())


def test_the_pdf_carries_the_title_issue_and_figures_in_chinese(pdf_text):
    assert "12345工作简报" in pdf_text and "2026年第1期" in pdf_text and "2026年9月" in pdf_text
    assert "共受理群众诉求 30 件" in pdf_text
    assert "按时办结率 66.67% 20 / 30" in pdf_text


def test_the_pdf_names_the_late_and_the_unsatisfactory_units_with_their_ticket_numbers(pdf_text):
    overdue = pdf_text.index("超期未答复")
    assert "市住房城乡建设委 10" in pdf_text[overdue:] and "AS20260000000002" in pdf_text[overdue:]
    unsatisfied = pdf_text.index("（三）不满意")
    assert "市综合执法局 5" in pdf_text[unsatisfied:]


def test_page_one_is_left_as_a_picture(pdf_text):
    png = ARTIFACTS / "bulletin-monthly-2026-09-page1.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
