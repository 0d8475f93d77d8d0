"""Reproductions of the source papers' experiments: each trains and scores many configurations of one model."""
