"""Mechanism 5 — abstraction: Perception Engines (White 2018), drawing systems judged by held-out classifiers."""
