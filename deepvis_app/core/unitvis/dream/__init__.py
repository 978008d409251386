"""Deep dream: amplifying what a layer sees in an image, in tiles and octaves."""
