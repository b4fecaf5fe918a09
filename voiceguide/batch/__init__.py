"""Trainer bundles: many tracks from one manifest."""
