"""Packaging: one version source, the demo command, the built front end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import netviz_widget

ROOT = Path(__file__).resolve().parents[1]


def test_python_and_npm_versions_agree():
    package = json.loads((ROOT / "package.json").read_text())
    assert netviz_widget.__version__ == package["version"]


def test_demo_prints_the_graph_and_writes_an_offline_report(tmp_path):
    out = tmp_path / "demo.html"
    result = subprocess.run([sys.executable, "-m", "netviz_widget", "demo", "--out", str(out)],
                            capture_output=True, text=True, timeout=300, check=True, cwd=tmp_path)
    assert "fc1" in result.stdout and "test accuracy" in result.stdout
    for step in ("Training the digits MLP", "Scoring test digits", "deletion curves"):
        assert step in result.stdout, result.stdout  # every long step says what it does
    assert "training the digits MLP" in result.stderr and "40/40" in result.stderr  # progress bar
    accuracy = float(result.stdout.split("test accuracy ")[1].split()[0].rstrip(")"))
    assert accuracy > 0.9
    assert str(out.resolve()) in result.stdout
    page = out.read_text()
    assert 'id="netviz-bundle"' in page and "Causal check" in page and "deletion AUC" in page
    assert "cdn.bokeh.org" not in page and "<script src=" not in page


def test_cli_help_names_the_command_and_its_options_without_loading_torch():
    code = ("import sys\nfrom netviz_widget.__main__ import main\n"
            "try:\n    main(['demo', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('torch loaded:', 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            check=True)
    assert result.stdout.startswith("usage: netviz demo"), result.stdout
    assert "--model {mlp,cnn}" in result.stdout and "MLP 64-32-16-10" in result.stdout
    assert "torch loaded: False" in result.stdout
    module = subprocess.run([sys.executable, "-m", "netviz_widget", "--help"], capture_output=True,
                            text=True, timeout=60, check=True)
    assert module.stdout.startswith("usage: python -m netviz_widget"), module.stdout


def test_the_demo_says_how_to_get_jupyterlab_when_it_is_missing():
    from netviz_widget.__main__ import next_step

    assert "pip install -e '.[lab]'" in next_step(False)
    assert next_step(True).endswith("jupyter lab notebooks/01_quickstart.ipynb")
    assert "'.[lab]'" not in next_step(True)


def test_ci_runs_every_tier_and_summarises_them_even_when_one_fails():
    script = ("source .ci/tiers.sh; tier first true; tier broken false; tier after 'echo' ran-after; "
              "summarise")
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 1, result
    assert "ran-after" in result.stdout  # the tier after the failing one still ran
    lines = result.stdout.splitlines()
    summary = [line.split() for line in lines if line.startswith(("PASS", "FAIL"))]
    assert [(s[0], s[-1]) for s in summary] == [("PASS", "first"), ("FAIL", "broken"), ("PASS", "after")]
    assert all(s[1].endswith("s") for s in summary) and lines[-1] == "some tiers FAILED"
    ok = subprocess.run(["bash", "-c", "source .ci/tiers.sh; tier one true; summarise"], cwd=ROOT,
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.splitlines()[-1] == "all 1 tiers passed"


def test_the_repository_stays_light():
    """The files git tracks (the working tree without node_modules, the build and caches) stay
    under 5 MB: notebooks without outputs, screenshots as palette PNGs."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    sizes = {name: (ROOT / name).stat().st_size for name in listed.decode().split("\0")
             if name and (ROOT / name).is_file()}
    assert sum(sizes.values()) <= 5_000_000, sorted(sizes.items(), key=lambda kv: -kv[1])[:5]


def test_the_jupyterlab_extension_is_installed_where_jupyterlab_finds_it():
    """pip installs the built extension (js/lab, see pyproject's shared-data) into a labextensions
    folder of the environment, in the same version as the package, and JupyterLab lists it enabled."""
    from jupyter_core.paths import jupyter_path

    found = [Path(p) / "netviz-widget" for p in jupyter_path("labextensions")
             if (Path(p) / "netviz-widget" / "package.json").is_file()]
    assert found, f"no netviz-widget in {jupyter_path('labextensions')}"
    meta = json.loads((found[0] / "package.json").read_text())
    assert meta["version"] == netviz_widget.__version__
    entry = found[0] / meta["jupyterlab"]["_build"]["load"]
    assert entry.is_file(), entry
    bundle = "".join(p.read_text() for p in (found[0] / "static").glob("*.js"))
    assert "netviz-widget:session-start" in bundle  # the plugin (js/lab/plugin.js) is in the build
    listed = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True,
                            text=True, timeout=120, check=True)
    line = next(ln for ln in (listed.stdout + listed.stderr).splitlines() if "netviz-widget" in ln)
    assert "enabled" in line and "OK" in line, line
