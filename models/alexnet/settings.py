"""torchvision alexnet (ImageNet). Weights: --weights FILE, or torchvision's own file in the
$TORCH_HOME/hub/checkpoints cache (deepvis never downloads; `deepvis layers --model alexnet` names the file)."""

builder = "torchvision:alexnet"

layers = (
    'features.1',
    'features.2',
    'features.4',
    'features.5',
    'features.7',
    'features.9',
    'features.11',
    'features.12',
    'classifier.2',
    'classifier.5',
    'classifier.6',
)
pretty_names = {
    'features.1': 'conv1',
    'features.2': 'pool1',
    'features.4': 'conv2',
    'features.5': 'pool2',
    'features.7': 'conv3',
    'features.9': 'conv4',
    'features.11': 'conv5',
    'features.12': 'pool5',
    'classifier.2': 'fc6',
    'classifier.5': 'fc7',
    'classifier.6': 'fc8',
}
output_layer = "classifier.6"
jpgvis_remap = {
    'features.2': 'features.1',
    'features.5': 'features.4',
    'features.12': 'features.11',
}
