"""Command line: ``python -m netviz_widget demo`` trains the bundled digits model and shows it."""

from __future__ import annotations

import argparse
import sys


def demo(model_kind: str, out: str, open_browser: bool) -> int:
    """Train the bundled digits model, print its layered graph and write the HTML report."""
    from . import datasets
    from .graph import LayeredGraph
    from .report import build_demo_report

    data = datasets.load_digits_split()
    if model_kind == "cnn":
        model, x_test = datasets.digits_cnn(), data.images(data.x_test)
    else:
        model, x_test = datasets.digits_mlp(), data.x_test
    graph = LayeredGraph.from_module(model, x_test[:1])
    acc = datasets.accuracy(model, x_test, data.y_test)
    print(f"netviz_widget demo: digits {model_kind.upper()} (scikit-learn load_digits, "
          f"{len(data.y_train)} train / {len(data.y_test)} test), test accuracy {acc:.3f}\n")
    print(graph.to_text())
    path, numbers = build_demo_report(model_kind, out)
    print(f"\nWrote {path.resolve()} ({path.stat().st_size / 1e6:.1f} MB): open it in any browser, "
          "no network or kernel needed.")
    best = min((k for k in numbers if k.startswith("deletion_auc")), key=numbers.get)
    print(f"Best unit ranking by deletion AUC: {best[13:-1]} ({numbers[best]:.3f}).")
    print("Open the live, interactive view with: jupyter lab notebooks/01_quickstart.ipynb")
    if open_browser:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m netviz_widget`` and the ``netviz`` script."""
    parser = argparse.ArgumentParser(prog="python -m netviz_widget", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="train the bundled digits model and show it")
    demo_parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    demo_parser.add_argument("--out", default="netviz-demo.html", help="where to write the report")
    demo_parser.add_argument("--open", action="store_true", help="open the report in a browser")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo(args.model, args.out, args.open)
    return 1  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":
    sys.exit(main())
