"""Finding each unit's top images in a dataset and cropping them (find-max, crops, receptive fields)."""
