"""Experiments that use what netviz_widget measures: pruning by attribution, attribution priors."""
