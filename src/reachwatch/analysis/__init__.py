"""Analyses: pure functions over arrays and records that return results, never pages or text."""
