"""Skeleton-sequence features, transforms, baselines and evaluation protocols."""
