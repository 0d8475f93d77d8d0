"""smartclass: multimodal classroom behaviour recognition (RGB, depth, thermal).

Implements paper 002 (enhancement, DCA-Net fusion, MST-GCN, multi-task loss) and paper 000
(hard-wired 3D CNN + STPP, attention LSTM, SO(3) skeleton features, CFAM fusion, box head).
"""

__version__ = "0.1.0"
