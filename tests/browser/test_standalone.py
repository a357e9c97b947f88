"""The exported demo report opened from file:// with every other request blocked."""

from __future__ import annotations

from netviz_widget.report import build_demo_report


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
        page.check("#netviz-circuit-toggle")
        assert len(page.evaluate("window.netvizModel.get('highlight')")) > 3
        assert page.locator("div[data-root-id]").count() >= 2  # the bokeh figures rendered
        page.screenshot(path=str(artifacts / "demo-report.png"), full_page=True)
    finally:
        context.close()
    assert errors == [], errors
    assert outside == [], outside
