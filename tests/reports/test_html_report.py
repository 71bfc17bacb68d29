"""``write_report``: one self-contained page; rendered in headless Chromium without errors, tables sort on click."""

from __future__ import annotations

import re
import time

import pytest
from chromium_cdp import Page, find_chromium

from brainalign.reports.html import write_report


def test_report_is_self_contained_and_complete(run_dir):
    path = write_report(run_dir)
    assert path == run_dir / "report.html"
    text = path.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)  # nothing fetched from elsewhere
    assert not re.search(r"""@import|url\(""", text)
    imgs = re.findall(r'<img [^>]*src="([^"]{0,30})', text)
    assert len(imgs) == 3 and all(s.startswith("data:image/png;base64,") for s in imgs)  # profile, compare, grid
    for anchor in ("run", "best-layers", "layer-profiles", "summary", "compare", "reconstructions", "jobs", "config"):
        assert f'<section id="{anchor}">' in text, anchor
    for needle in ("report-test", "tiny-gpt2-rep", "baseline:word_length", "compare-pairs", "Alignment vs model properties",
                   "reconstruct/sub-01/grid.png", "&quot;n_folds&quot;"):
        assert needle in text, needle
    assert not list(run_dir.glob(".report.html.*"))  # atomic write left no temp file


def test_report_cli_function_and_missing_run(run_dir, tmp_path, capsys):
    import typer

    from brainalign.cli.report import report

    report(run_dir)
    assert "report.html" in capsys.readouterr().out
    with pytest.raises(typer.Exit):
        report(tmp_path)
    assert "no config.json" in capsys.readouterr().err


def test_report_renders_in_chromium_without_errors_and_sorts(run_dir, tmp_path):
    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium); the report is not rendered")
    pytest.importorskip("websocket", reason="websocket-client is needed to drive chromium")
    path = write_report(run_dir)
    t0 = time.perf_counter()
    page = Page(binary)
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.send(f"{domain}.enable")
        page.send("Page.navigate", url=path.resolve().as_uri())
        page.wait_for("Page.loadEventFired")
        assert page.evaluate("document.querySelectorAll('#best-layers tbody tr').length") == 6
        assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        col = "[...document.querySelectorAll('#summary thead th')].findIndex(h => h.textContent === 'r_mean')"
        values = (f"[...document.querySelectorAll('#summary tbody tr')]"
                  f".map(r => r.cells[{col}].getAttribute('data-v')).filter(v => v !== '').map(Number)")
        before = page.evaluate(values)
        assert before != sorted(before)  # run order, not sorted yet
        idx = page.evaluate(col)
        header = f"#summary thead th:nth-child({idx + 1})"
        page.click(header)
        assert page.evaluate(f"document.querySelector('{header}').getAttribute('aria-sort')") == "ascending"
        assert page.evaluate(values) == sorted(before)
        page.click(header)
        assert page.evaluate(values) == sorted(before, reverse=True)
        shot = page.screenshot(tmp_path / "report.png")
        print(f"\nscreenshot: {shot} (chromium test {time.perf_counter() - t0:.1f} s)")
        assert shot.stat().st_size > 10_000
        assert page.errors() == []
        assert [u for u in page.requests() if not u.startswith(("file:", "data:"))] == []
    finally:
        page.close()
