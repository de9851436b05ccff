"""The HTML report opens in headless Chromium, loads nothing from outside, and its plots show the
error rates planted in a synthetic dataset."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from posology.audit.synthetic import PLANTED, write_dataset

CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def page() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        yield browser.new_page()
        browser.close()


def test_report_plots_show_the_planted_error_rates(audit, tmp_path: Path, page) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    write_dataset(data, 30_000, seed=11)
    result = audit(data / "events.parquet", "--patients", data / "patients.parquet")
    assert result.status == 1
    with (data / "planted.csv").open(newline="") as handle:
        planted = Counter(row["rule"] for row in csv.DictReader(handle))
    judged = result.summary()["events_judged"]

    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    report = (result.out / "report.html").resolve()
    page.goto(report.as_uri())
    assert requests == [report.as_uri()]  # self-contained: no script, style or font fetched
    assert page.title() == "Posology audit"
    assert page.locator(".partial").count() == 0

    widths = {}
    for rule, count in planted.items():
        bar = page.locator(f'#by-rule rect[data-rule="{rule}"]')
        assert bar.count() == 1, rule
        rate = float(bar.get_attribute("data-rate") or "nan")
        assert rate == pytest.approx(count / judged, abs=1e-6), rule
        box = bar.bounding_box()
        assert box is not None and box["width"] > 0
        widths[rule] = box["width"]
        assert f"({count / judged:.2%})" in (bar.locator("title").text_content() or "")
    # longer bars for higher rates, as drawn on the page
    by_rate = sorted(planted, key=lambda r: planted[r])
    assert [widths[r] for r in by_rate] == sorted(widths[r] for r in by_rate)

    # the planted rates match what the generator was asked for, within sampling error
    events_of = result.summary()["events_by_kind"]
    oral = planted["PO-MAX"] / (events_of["oral-regimen"] - planted["PO-MAX"])
    assert oral == pytest.approx(PLANTED["oral.max"], rel=0.5)

    # over time: the critical findings plotted month by month add up to the planted unit slips
    critical = page.locator('#over-time rect[data-severity="critical"]')
    plotted = sum(
        int(critical.nth(i).get_attribute("data-findings") or 0) for i in range(critical.count())
    )
    assert plotted == planted["SUP-UNIT-MIXUP"] > 0
    months = page.locator("#over-time rect.month")
    assert months.count() == len(result.summary()["by_month"])
    assert (
        sum(int(months.nth(i).get_attribute("data-events") or 0) for i in range(months.count()))
        == judged
    )
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
