"""torchvision squeezenet1_1 (ImageNet). Weights: --weights FILE, or torchvision's own file in the
$TORCH_HOME/hub/checkpoints cache (deepvis never downloads; `deepvis layers --model squeezenet1_1` names the file)."""

builder = "torchvision:squeezenet1_1"

layers = (
    'features.1',
    'features.2',
    'features.3',
    'features.4',
    'features.5',
    'features.6',
    'features.7',
    'features.9',
    'features.10',
    'features.11',
    'features.12',
    'classifier.2',
    'classifier.3',
)
output_layer = "classifier.3"
