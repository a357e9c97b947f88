"""The page note (page_note.py): displayed once per kernel, only inside a kernel, and its script
carries the note as a JSON string (quotes in it cannot break the script)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from netviz_widget.ui import page_note


@pytest.fixture
def shown(monkeypatch):
    """Every object `display`ed, with the once-per-kernel flag reset."""
    import IPython.display

    out: list = []
    monkeypatch.setattr(page_note, "_SHOWN", False)
    monkeypatch.setattr(IPython.display, "display", lambda *objs: out.extend(objs))
    return out


def test_outside_a_kernel_nothing_is_displayed(shown, monkeypatch):
    monkeypatch.setattr("IPython.get_ipython", lambda: None)
    page_note.ensure_page_note()
    assert shown == []
    monkeypatch.setattr("IPython.get_ipython", lambda: SimpleNamespace())  # a terminal IPython
    page_note.ensure_page_note()
    assert shown == []


def test_in_a_kernel_the_script_is_displayed_once(shown, monkeypatch):
    monkeypatch.setattr("IPython.get_ipython", lambda: SimpleNamespace(kernel=object()))
    page_note.ensure_page_note()
    page_note.ensure_page_note()
    assert len(shown) == 1
    script = shown[0].data
    assert json.dumps(page_note.NOTE) in script
    assert "Error displaying widget: model not found" in script
    assert "save the notebook and reload the page" in page_note.NOTE


def test_the_script_carries_its_creation_time_and_every_text_as_json(monkeypatch):
    monkeypatch.setattr(page_note, "NOTE", 'a "quoted" </script> note')
    script = page_note.watch_script(1_700_000_000.25)
    assert "var created = 1700000000250," in script
    assert json.dumps('a "quoted" </script> note') in script
    assert json.dumps(page_note.BUTTON) in script
