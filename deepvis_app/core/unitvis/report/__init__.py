"""Per-unit reports: one page per unit with its images, maps and numbers."""
