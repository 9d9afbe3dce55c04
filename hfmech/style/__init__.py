"""Mechanism 2 — cross-domain synthesis: Gatys style transfer, random-network style, audio style transfer."""
