"""The per-unit images on disk: folder layout, records, montages, the sample set."""
