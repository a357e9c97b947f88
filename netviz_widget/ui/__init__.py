"""The notebook widget: view, controls, plots, view state, export, report."""
