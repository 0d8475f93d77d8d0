"""SmartClass-Synth: procedural trimodal (RGB, depth, thermal) classroom sequences with full ground truth."""
