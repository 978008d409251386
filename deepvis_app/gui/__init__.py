"""The Qt window: the only package that imports PySide6 or superqt.

Everything here draws what a `deepvis_app.core.app.session.Session` hands over (`Result`) and turns
user input (keys, clicks, hovering, drops, resizes) into calls on that session. No torch here:
the UI thread never computes.
"""
