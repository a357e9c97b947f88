"""Analysis on top of the engine: circuits, written explanations, causal checks."""
