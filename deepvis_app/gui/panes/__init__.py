"""One widget per pane of the toolbox window; each paints what a `Result` holds for it."""
