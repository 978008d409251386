"""What explains a unit: backprop rules, attribution methods, and the registry that names them."""
