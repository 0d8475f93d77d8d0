"""The classic baseline of the Lie-group representation: Fourier temporal pyramid + linear SVM
(Vemulapalli et al. 2014), on the SO(3) features of :mod:`smartclass.skeleton.so3`."""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC


def fourier_temporal_pyramid(curve: np.ndarray, levels: int = 3, coefficients: int = 4) -> np.ndarray:
    """``(T, D)`` feature curve → pyramid of low-frequency FFT magnitudes: level l splits the clip into
    2^l segments; each keeps its first ``coefficients`` magnitudes. Output ``((2^levels − 1)·k·D,)``."""
    feats = []
    t = curve.shape[0]
    for level in range(levels):
        for seg in np.array_split(np.arange(t), 2**level):
            x = curve[seg] if len(seg) else curve[:1]
            mag = np.abs(np.fft.rfft(x, axis=0))[:coefficients]
            if mag.shape[0] < coefficients:
                mag = np.pad(mag, ((0, coefficients - mag.shape[0]), (0, 0)))
            feats.append(mag / max(len(seg), 1))
    return np.concatenate(feats, 0).reshape(-1).astype(np.float32)


class SO3SVM:
    """SO(3) curve → Fourier temporal pyramid → standardisation → one-vs-rest linear SVM."""

    def __init__(self, C: float = 1.0, levels: int = 3, coefficients: int = 4, seed: int = 0) -> None:
        self.levels, self.coefficients = levels, coefficients
        self.clf = make_pipeline(StandardScaler(), LinearSVC(C=C, max_iter=20000, random_state=seed))

    def _x(self, curves: list[np.ndarray]) -> np.ndarray:
        return np.stack([fourier_temporal_pyramid(c, self.levels, self.coefficients) for c in curves])

    def fit(self, curves: list[np.ndarray], labels: np.ndarray) -> "SO3SVM":
        self.clf.fit(self._x(curves), labels)
        return self

    def predict(self, curves: list[np.ndarray]) -> np.ndarray:
        return self.clf.predict(self._x(curves))
