"""Offline HTML for a replay: the standalone page (export.py) plus every recorded frame and a
slider with a play button that swap them in the page, with no kernel and no network."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

from netviz_widget.ui.export import _jsonable, standalone_html

if TYPE_CHECKING:
    from netviz_widget.ui.replay import ReplayView

_CONTROLS = """
<div class="netviz-replay-offline" style="display:flex;gap:12px;align-items:center;margin:8px 0">
<button type="button" id="netviz-replay-play">play</button>
<input type="range" id="netviz-replay-slider" min="0" max="$last" value="$index" step="1" style="width:360px">
<span id="netviz-replay-step"></span>
</div>
"""

_SCRIPT = """
<script type="application/json" id="netviz-replay-frames">$frames</script>
<script type="module">
const data = JSON.parse(document.getElementById("netviz-replay-frames").textContent);
const slider = document.getElementById("netviz-replay-slider");
const label = document.getElementById("netviz-replay-step");
const play = document.getElementById("netviz-replay-play");
let seq = 1e9; // above the saved state's seq: the view never shows an older state
let timer = 0;
const model = await new Promise((resolve) => {
  const wait = () => (window.netvizModel ? resolve(window.netvizModel) : requestAnimationFrame(wait));
  wait();
});
const decode = window.netvizDecode; // the standalone page's (set before its model)
const show = (i) => {
  model.set("state", { ...decode(data.frames[i]), seq: ++seq });
  label.textContent = `step ${data.steps[i]} (${i + 1}/${data.frames.length})`;
};
slider.addEventListener("input", () => show(Number(slider.value)));
play.addEventListener("click", () => {
  if (timer) {
    clearInterval(timer);
    timer = 0;
    play.textContent = "play";
    return;
  }
  play.textContent = "pause";
  timer = setInterval(() => {
    const next = (Number(slider.value) + 1) % data.frames.length;
    slider.value = String(next);
    show(next);
  }, data.interval);
});
show(Number(slider.value));
</script>
"""


def replay_html(replay: ReplayView, title: str = "netviz_widget replay") -> str:
    """The offline page of `replay`: its view at the shown input, every record as a frame."""
    recording = replay.recording
    frames = [_jsonable(replay._state(i, replay.example)) for i in range(len(recording))]
    payload = {"frames": frames, "steps": [int(s) for s in recording.steps],
               "interval": int(replay.play.interval)}
    controls = _CONTROLS.replace("$last", str(len(recording) - 1)).replace("$index", str(replay.index))
    script = _SCRIPT.replace("$frames", json.dumps(payload).replace("</", "<\\/"))
    intro = f"<p class='netviz-report-note'>{html.escape(f'{len(recording)} recorded steps')}</p>{controls}"
    return standalone_html(replay.view, title, intro=intro, sections=script)


def save_replay_html(replay: ReplayView, path: str | Path, title: str = "netviz_widget replay") -> Path:
    """Write `replay_html(replay)` to `path` and return the path."""
    path = Path(path)
    path.write_text(replay_html(replay, title), encoding="utf-8")
    return path
