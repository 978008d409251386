"""Loading a network and reading it: builders, checkpoints, layers, hooks, tokens, preprocessing, outputs, pairs."""
