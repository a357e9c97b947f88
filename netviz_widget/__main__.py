"""Command line: ``python -m netviz_widget demo`` trains the bundled digits model and shows it."""

from __future__ import annotations

import argparse
import sys


def demo(model_kind: str) -> int:
    """Train the bundled digits model and print its layered graph and test accuracy."""
    from . import datasets
    from .graph import LayeredGraph

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
    print("\nOpen the live view with: jupyter lab notebooks/01_quickstart.ipynb")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m netviz_widget`` and the ``netviz`` script."""
    parser = argparse.ArgumentParser(prog="python -m netviz_widget", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="train the bundled digits model and show it")
    demo_parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo(args.model)
    return 1  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":
    sys.exit(main())
