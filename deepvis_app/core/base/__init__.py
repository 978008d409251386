"""Foundations every layer uses: progress, notices, a byte-limited cache, torch call arguments."""
