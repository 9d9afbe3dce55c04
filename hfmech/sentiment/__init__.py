"""Mechanism 3 — sentiment: the sentiment neuron (Radford, Jozefowicz & Sutskever 2017)."""
