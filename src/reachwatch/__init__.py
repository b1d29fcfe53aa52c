"""reachwatch: monitoring of the public posts of high-reach accounts."""

__version__ = "0.1.0"
