"""The LADDER pipeline: baseline, variant trees, training, evaluation, TTRL, report."""
