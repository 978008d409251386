"""Foundations every layer uses: option dataclasses, progress, notices, a byte-limited cache, torch call arguments."""
