"""Mechanism 4 in drawings — sketch-rnn (Ha & Eck 2017); the mechanism declaration follows with its CLI and Space."""
