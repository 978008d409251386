"""Shared test code: the test models (`models`), oracle comparisons (`oracles`), files and videos
the tests write (`datasets`, `videos`, `hostile_images`, `image_seeds`) and pixel readers for the
window tests (`gui`). Test modules import from here, never from each other."""
