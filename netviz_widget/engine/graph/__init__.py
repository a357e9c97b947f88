"""Graph builders: a model traced (torch.fx, or hooks) into a LayeredGraph."""

from .layered import LayeredGraph, check_input
from .units import EdgeBlock, UnitLayer

__all__ = ["EdgeBlock", "LayeredGraph", "UnitLayer", "check_input"]
