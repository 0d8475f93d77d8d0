"""Image backbones in plain torch with torchvision-compatible state dicts (torchvision is not installable here)."""
