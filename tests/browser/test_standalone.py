"""The exported demo report opened from file:// with every other request blocked."""

from __future__ import annotations

from netviz_widget.ui.report import build_demo_report
from tests.browser.offline import open_offline


def test_demo_report_works_offline(chromium, tmp_path, artifacts):
    path, _ = build_demo_report("mlp", tmp_path / "netviz-demo.html", n_curve_digits=4)
    offline = open_offline(chromium, path, {"width": 1300, "height": 1000})
    page = offline.page
    try:
        page.wait_for_selector(".netviz-root[data-ready='1']", timeout=20_000)
        box = page.locator(".netviz-stage").bounding_box()
        x, y = page.evaluate("document.querySelector('.netviz-root').parentElement"
                             ".netviz.unitPosition('fc1', 5)")
        page.mouse.move(box["x"] + x, box["y"] + y)
        tooltip = page.locator(".netviz-tooltip")
        tooltip.wait_for(state="visible", timeout=5_000)
        assert "fc1[5]" in tooltip.inner_text()
        page.mouse.click(box["x"] + x, box["y"] + y)  # selection works locally
        assert page.evaluate("window.netvizModel.get('selection')") == [["fc1", 5]]
        drill = page.locator(".netviz-drill")
        drill.wait_for(state="visible", timeout=5_000)  # the precomputed drill-down answers
        assert "fc1[5]" in drill.inner_text()
        first = page.evaluate("window.netvizModel.get('drilldown').input_scores.buffer.byteLength")
        assert first > 0
        header = page.locator(".netviz-header").inner_text()
        options = page.locator("#netviz-input option").all_inner_texts()
        assert len(options) == 3 and "predicted" in options[1]
        page.select_option("#netviz-input", "1")  # another digit: its own state is drawn
        assert page.get_attribute("#netviz-view", "data-input") == "1"
        assert page.evaluate("window.netvizModel.get('state').example") == 1
        assert page.locator(".netviz-header").inner_text() != header
        assert page.evaluate("window.netvizModel.get('selection')") == []
        assert not drill.is_visible()
        x, y = page.evaluate("document.querySelector('.netviz-root').parentElement"
                             ".netviz.unitPosition('fc2', 3)")
        page.mouse.click(box["x"] + x, box["y"] + y)
        drill.wait_for(state="visible", timeout=5_000)
        assert "fc2[3]" in drill.inner_text()
        assert page.evaluate("window.netvizModel.get('drilldown').unit") == 3
        page.check("#netviz-circuit-toggle")
        assert len(page.evaluate("window.netvizModel.get('highlight')")) > 3
        assert page.locator("div[data-root-id]").count() >= 2  # the bokeh figures rendered
        page.screenshot(path=str(artifacts / "demo-report.png"), full_page=True)
    finally:
        offline.context.close()
    assert offline.errors == [], offline.errors
    assert offline.outside == [], offline.outside
