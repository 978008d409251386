"""torchvision vgg16 (ImageNet). Weights: --weights FILE, or torchvision's own file in the
$TORCH_HOME/hub/checkpoints cache (deepvis never downloads; `deepvis layers --model vgg16` names the file)."""

builder = "torchvision:vgg16"

layers = (
    'features.1',
    'features.3',
    'features.4',
    'features.6',
    'features.8',
    'features.9',
    'features.11',
    'features.13',
    'features.15',
    'features.16',
    'features.18',
    'features.20',
    'features.22',
    'features.23',
    'features.25',
    'features.27',
    'features.29',
    'features.30',
    'classifier.1',
    'classifier.4',
    'classifier.6',
)
output_layer = "classifier.6"
