"""The headless engine: graph, probes, interventions, attribution, the Explainer."""
