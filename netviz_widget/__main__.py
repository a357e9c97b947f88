"""netviz: ``netviz demo`` (or ``python -m netviz_widget demo``) trains the bundled digits model,
prints its layered graph and writes an offline HTML report.

Only the standard library is imported until a command runs, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time


def _say(line: str) -> None:
    print(line, flush=True)


def demo(model_kind: str, out: str, open_browser: bool) -> int:
    """Train the bundled digits model, print its layered graph and write the HTML report, saying
    what each step does (progress bars for training and scoring)."""
    _say("Loading torch, Captum and the bundled digits (scikit-learn's 8×8 load_digits) …")
    from netviz_widget import datasets
    from netviz_widget.engine.graph.layered import LayeredGraph
    from netviz_widget.ui.report import build_demo_report

    data = datasets.load_digits_split()
    epochs = 25 if model_kind == "cnn" else 40
    _say(f"Training the digits {model_kind.upper()} on {len(data.y_train)} digits ({epochs} epochs) …")
    started = time.perf_counter()
    if model_kind == "cnn":
        model, x_test = datasets.digits_cnn(progress=True), data.images(data.x_test)
    else:
        model, x_test = datasets.digits_mlp(progress=True), data.x_test
    trained_in = time.perf_counter() - started
    graph = LayeredGraph.from_module(model, x_test[:1])
    acc = datasets.accuracy(model, x_test, data.y_test)
    _say(f"\nnetviz_widget demo: digits {model_kind.upper()} (scikit-learn load_digits, "
         f"{len(data.y_train)} train / {len(data.y_test)} test), trained in {trained_in:.1f} s, "
         f"test accuracy {acc:.3f}\n")
    _say(graph.to_text())
    _say("")
    path, numbers = build_demo_report(model_kind, out, say=_say)
    _say(f"\nWrote {path.resolve()} ({path.stat().st_size / 1e6:.1f} MB): open it in any browser, "
         "no network or kernel needed.")
    best = min((k for k in numbers if k.startswith("deletion_auc")), key=numbers.get)
    _say(f"Best unit ranking by deletion AUC: {best[13:-1]} ({numbers[best]:.3f}).")
    _say(next_step(importlib.util.find_spec("jupyterlab") is not None))
    if open_browser:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    return 0


def next_step(have_jupyterlab: bool) -> str:
    """What to run next for the live view, depending on whether JupyterLab is installed."""
    if have_jupyterlab:
        return "Next, the live interactive view: jupyter lab notebooks/01_quickstart.ipynb"
    return ("Next, the live interactive view needs JupyterLab, which is not installed here: "
            "pip install -e '.[lab]' (from this checkout), then jupyter lab notebooks/01_quickstart.ipynb")


def parser(prog: str = "netviz") -> argparse.ArgumentParser:
    """The command line (``prog`` is how the user called it)."""
    main_parser = argparse.ArgumentParser(
        prog=prog, description="netviz_widget: look inside small neural networks and change them "
                               "while you look. 'demo' trains the bundled digits model, prints its "
                               "layered graph and writes an offline HTML report.")
    commands = main_parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo_parser = commands.add_parser(
        "demo", help="train the bundled digits model and write an offline report",
        description="Train the bundled digits model (a few seconds on a CPU), print its layered "
                    "graph, explain three test digits and write an offline HTML report.")
    demo_parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp",
                             help="which bundled model: mlp, an MLP 64-32-16-10 (default), or cnn, "
                                  "a small CNN on the 8×8 images")
    demo_parser.add_argument("--out", default="netviz-demo.html",
                             help="where to write the report (default: netviz-demo.html)")
    demo_parser.add_argument("--open", action="store_true", help="open the report in a browser")
    return main_parser


def main(argv: list[str] | None = None, prog: str = "netviz") -> int:
    """Entry point of the ``netviz`` script (and of ``python -m netviz_widget``)."""
    args = parser(prog).parse_args(argv)
    if args.command == "demo":
        return demo(args.model, args.out, args.open)
    return 1  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":
    sys.exit(main(prog="python -m netviz_widget"))
