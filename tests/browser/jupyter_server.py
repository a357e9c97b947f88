"""A throwaway JupyterLab on 127.0.0.1 with its own config dirs, and Chromium launch options."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
TOKEN = "netviz-browser-test"
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"autoStartDefaultKernel": True,
                                                                  "windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterLab:
    """Start JupyterLab serving `root`; `url(path)` opens a notebook; `stop()` ends it.
    `settings` replaces the test settings (SETTINGS) by others, e.g. a user's defaults;
    `page_config` adds page options (e.g. {"exposeAppInBrowser": True} for diagnostics)."""

    def __init__(self, workdir: Path, notebooks: list[Path], settings: dict | None = None,
                 page_config: dict | None = None) -> None:
        self.root = workdir / "root"
        self.root.mkdir(parents=True)
        for notebook in notebooks:  # a copy: JupyterLab autosaves
            shutil.copy(notebook, self.root / notebook.name)
        env = dict(os.environ)
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
                     "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR"):
            path = workdir / name.lower()
            path.mkdir()
            env[name] = str(path)
        # JupyterLab's debugger extension races with kernel start-up and logs "Could not restore
        # the debugger state" now and then; it is not under test, so it is switched off.
        labconfig = Path(env["JUPYTER_CONFIG_DIR"]) / "labconfig"
        labconfig.mkdir()
        (labconfig / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {"@jupyterlab/debugger-extension": True},
                        **(page_config or {})}))
        for relative, values in (SETTINGS if settings is None else settings).items():
            target = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values))
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        self.port = free_port()
        self.log = open(workdir / "jupyterlab.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", f"--IdentityProvider.token={TOKEN}",
             f"--ServerApp.root_dir={self.root}", "--ServerApp.allow_root=True",
             "--LabApp.news_url=", "--ServerApp.open_browser=False"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base}/{path}?token={TOKEN}"

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={TOKEN}", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError("JupyterLab did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
