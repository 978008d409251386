"""The settings layer: every setting declared once (`defaults`, with the declaration machinery of
`options` that the core's method and optimize options use too), merged from their files and checked
(`loader`), the original toolbox's names (`legacy`), hints (`suggest`) and size limits (`limits`)."""
