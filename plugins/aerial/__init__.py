"""Synthetic aerial (drone) tiles: an offline, seeded training and benchmark domain."""
