"""Model builders by family (torchvision, timm, Hugging Face, the offline EfficientNet-Lite0): names to networks."""
