"""Turning arrays into pictures: display scaling and colour maps, unit tiles, output overlays."""
