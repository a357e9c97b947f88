"""A replay saved as offline HTML: the slider and the play button keep working from file://."""

from __future__ import annotations

import json

import torch

from netviz_widget import NetViz, Recorder
from netviz_widget.datasets import load_digits_split, mlp
from tests.browser.offline import open_offline

NODE_SCORES = ("() => { const v = window.netvizModel.get('state').node_scores.buffer;"
               " return Array.from(new Float32Array(v.buffer, v.byteOffset, v.byteLength / 4)); }")
SEQ = "Number(document.querySelector('.netviz-root').dataset.seq)"


def recording():
    data = load_digits_split()
    model = mlp()
    recorder = Recorder(model, data.x_test[:2], every=2, n_steps=4)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(9):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(data.x_train[:128]), data.y_train[:128]).backward()
        optimiser.step()
        recorder.step(step)
    return recorder.recording


def test_offline_replay_slider_and_play(chromium, tmp_path, artifacts):
    replay = NetViz.replay(recording(), interval=100)
    path = replay.save_html(tmp_path / "replay.html")
    offline = open_offline(chromium, path, {"width": 1300, "height": 900})
    page = offline.page
    try:
        page.wait_for_selector(".netviz-root[data-ready='1']", timeout=20_000)
        page.wait_for_function("() => document.getElementById('netviz-replay-step').textContent.length > 0")
        assert page.inner_text("#netviz-replay-step") == "step 0 (1/5)"
        seq = page.evaluate(SEQ)
        page.locator("#netviz-replay-slider").fill("3")  # a range input takes fill() and fires input
        page.wait_for_function(f"(seq) => {SEQ} > seq", arg=seq, timeout=10_000)
        assert page.inner_text("#netviz-replay-step") == "step 6 (4/5)"
        frames = json.loads(page.inner_text("#netviz-replay-frames"))["frames"]
        shown = page.evaluate(NODE_SCORES)
        expected = torch.tensor(replay.recording.node_scores["fc1"][3, 0]).tolist()
        assert shown[64:96] == expected
        assert len(frames) == 5
        page.click("#netviz-replay-play")
        page.wait_for_function("() => document.getElementById('netviz-replay-step').textContent"
                               ".startsWith('step 8 (5/5)')", timeout=10_000)
        page.wait_for_function("() => document.getElementById('netviz-replay-step').textContent"
                               ".startsWith('step 0 (1/5)')", timeout=10_000)  # loops
        page.click("#netviz-replay-play")  # pause
        page.screenshot(path=str(artifacts / "replay-offline.png"), full_page=True)
    finally:
        offline.context.close()
    assert offline.errors == [], offline.errors
    assert offline.outside == [], offline.outside
