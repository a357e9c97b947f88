"""The exported demo report opened from file:// with every other request blocked."""

from __future__ import annotations

from netviz_widget.ui.report import build_demo_report


def test_demo_report_works_offline(chromium, tmp_path, artifacts):
    path, _ = build_demo_report("mlp", tmp_path / "netviz-demo.html", n_curve_digits=4)
    context = chromium.new_context(viewport={"width": 1300, "height": 1000})
    outside = []

    def only_local(route):
        url = route.request.url
        if url.startswith(("file:", "blob:", "data:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(path.as_uri())
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
        context.close()
    assert errors == [], errors
    assert outside == [], outside
