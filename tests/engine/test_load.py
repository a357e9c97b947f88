"""Under load: rapid requests and many cycles leave no growth in hooks, history or memory.
(The full 10,000-cycle figures come from benchmarks/bench_soak.py.)"""

from __future__ import annotations

import pytest

from tests.files import load

_soak = load("benchmarks/bench_soak.py")
rapid_requests, soak = _soak.rapid_requests, _soak.soak


@pytest.mark.slow
def test_snapshot_undo_cycles_do_not_grow():
    result = soak(2_000)
    assert result["hooks_after"] == result["hooks_before"]
    assert result["history_after"] == 0
    assert result["snapshot_cache_size"] <= 64
    assert result["rss_growth_mb"] < 10


@pytest.mark.slow
def test_rapid_requests_from_the_front_end_end_in_a_consistent_state():
    result = rapid_requests(300)
    assert result["final_equals_clean"] and result["history_after"] == 0
    assert result["final_selection"] == [["fc2", 299 % 16]]
    assert result["rss_growth_mb"] < 10
