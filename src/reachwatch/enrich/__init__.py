"""Enrichers: pure functions from posts to facts about them (mentions of protected people, ...)."""
