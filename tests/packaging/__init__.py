"""Tests of the built wheel: installed into a fresh environment, it works from any folder."""
