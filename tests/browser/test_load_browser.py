"""A flood of front-end messages: the kernel ends in the state of the last one, applies each
request once, keeps its memory, and still answers (figures printed for the issue note)."""

from __future__ import annotations

import json
import time

from .lab import open_and_run_all, run_code_in_new_cell

MEMORY = ("import os, json; rss = lambda: int(open(f'/proc/{os.getpid()}/statm').read().split()[1])"
          " * os.sysconf('SC_PAGE_SIZE') / 1e6; print(json.dumps({'rss': rss()}))")


def test_a_thousand_messages_from_the_view(chromium, jupyterlab):
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        open_and_run_all(page, jupyterlab.url("lab/workspaces/flood/tree/01_quickstart.ipynb"))
        before = json.loads(run_code_in_new_cell(page, MEMORY))["rss"]
        sent = page.evaluate("""() => {
            const handle = document.querySelector('.netviz-root').parentElement.netviz;
            for (let i = 0; i < 999; i++) handle.requestSelection([['fc2', i % 15]]);
            handle.requestSelection([['fc2', 15]]);  // the last request, unlike any before it
            return 1000;
        }""")
        assert sent == 1000
        # the view's requests and the Apply button travel on different comms: Apply once Python
        # has answered the last selection request
        page.get_by_text("selected: fc2[15]").wait_for(timeout=120_000)
        page.locator(".netviz-controls button", has_text="Apply").click()
        start = time.perf_counter()
        answer = run_code_in_new_cell(
            page, "print(json.dumps({'selection': viz.view.selection, 'history': viz.explainer.history,"
                  " 'rss': rss()}))", timeout_s=120)
        elapsed = time.perf_counter() - start
        state = json.loads(answer)
        assert state["selection"] == [["fc2", 15]]
        assert [h["intervention"] for h in state["history"]] == ["zero fc2[15]"]
        print(json.dumps({"messages": 1001, "answer_after_s": round(elapsed, 2),
                          "rss_growth_mb": round(state["rss"] - before, 2)}))
        assert state["rss"] - before < 10
    finally:
        page.close()
