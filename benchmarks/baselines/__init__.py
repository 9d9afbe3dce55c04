"""The baselines each benchmark measures hfmech against, in the same run (plain ports of the reference code)."""
