"""Shared pieces of the experiments: seeds, summaries, tables, output files."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import wilcoxon


def mean_std(values: Sequence[float]) -> str:
    """'0.912 ± 0.013' for a list of numbers."""
    array = np.asarray(values, dtype=float)
    return f"{array.mean():.3f} ± {array.std(ddof=1) if len(array) > 1 else 0.0:.3f}"


def paired_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired samples (1.0 when all pairs tie)."""
    difference = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if np.allclose(difference, 0):
        return 1.0
    return float(wilcoxon(a, b, zero_method="zsplit").pvalue)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _plain(value: object) -> object:
    """JSON for numpy arrays and scalars."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_outputs(out: Path, name: str, runs: list[dict], table: str, config: dict) -> tuple[Path, Path]:
    """Write `<name>.json` (every run and the config) and `<name>.md` (the table)."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / f"{name}.json", out / f"{name}.md"
    json_path.write_text(json.dumps({"config": config, "runs": runs,
                                     "written": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=1,
                                    default=_plain))
    md_path.write_text(table + "\n")
    return json_path, md_path


def experiment_parser(name: str, doc: str | None, seeds: int) -> argparse.ArgumentParser:
    """The experiments' shared command line: ``--seeds`` and ``--out`` (add more to it)."""
    parser = argparse.ArgumentParser(prog=f"python -m studies.{name}", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=seeds, help=f"seeds per configuration ({seeds})")
    parser.add_argument("--out", type=Path, default=Path("results"), help="output folder (results/)")
    return parser


def report(out: Path, name: str, runs: list[dict], table: str, config: dict) -> int:
    """Write the outputs, print the table and where it went; the CLI's exit status."""
    paths = write_outputs(out, name, runs, table, config)
    print(table)
    print("wrote", *paths)
    return 0


def report_from_json(json_path: Path | Sequence[Path], out: Path, name: str,
                     summarise: Callable[[list[dict]], str],
                     plot: Callable[[list[dict], Path], object] | None = None) -> int:
    """The CLI's ``--from-json``: rewrite the tables (and the figure) of an earlier run's JSON
    instead of running again. Several JSON files (runs of the same study with other arms, same
    seeds) are merged: their runs concatenated, exact duplicates (e.g. the shared plain model's row)
    kept once, their configs listed."""
    paths = [json_path] if isinstance(json_path, (str, Path)) else list(json_path)
    saved = [json.loads(Path(path).read_text()) for path in paths]
    runs: list[dict] = []
    seen: set[str] = set()
    for item in saved:
        for run in item["runs"]:
            key = json.dumps(run, sort_keys=True, default=_plain)
            if key not in seen:
                seen.add(key)
                runs.append(run)
    config = saved[0]["config"] if len(saved) == 1 else {"merged": [item["config"] for item in saved]}
    out.mkdir(parents=True, exist_ok=True)
    if plot is not None:
        plot(runs, out / f"{name}.png")
    return report(out, name, runs, summarise(runs), config)


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend, or None where matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def save_grid(figure: Any, axes: Any, path: Path, ylabel: str) -> Path:
    """Save a grid of plots as a PNG: `ylabel` on each row's first plot, the legend on the top
    right one, a tight layout at 60 dpi; the figure is closed. Returns `path`."""
    import matplotlib.pyplot as plt

    for row in axes:
        row[0].set_ylabel(ylabel, fontsize=7)
    axes[0][-1].legend(fontsize=6)
    figure.tight_layout()
    figure.savefig(path, dpi=60)
    plt.close(figure)
    return path
