"""A seeded, realistic scenario emitted in real Bluesky wire formats, with its ground truth."""
