"""Per-unit images: top-9 dataset images (find-max), their crops and deconvs, regularized optimization,
deep dream, and the on-disk layout the window reads them from (no Qt)."""
