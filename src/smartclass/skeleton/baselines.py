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


# ------------------------------------------------------------------ the reference pipeline's temporal model
def dtw_paths(dist: np.ndarray) -> np.ndarray:
    """Dynamic time warping of a batch of cost matrices ``(N, L, K)`` (row i of the first curve against column k
    of the second): accumulated cost ``D[i, k] = dist[i, k] + min(D[i−1, k−1], D[i−1, k], D[i, k−1])`` from
    (0, 0) to (L−1, K−1), steps of weight 1 (Ellis's ``dpfast``). Returns the ``(N, L, K)`` bool masks of the
    optimal paths. Vectorised over the batch and along each anti-diagonal of the cost matrix."""
    dist = np.asarray(dist, dtype=np.float64)
    n, rows, cols = dist.shape
    acc = np.full((n, rows + 1, cols + 1), np.inf)
    acc[:, 0, 0] = 0.0
    step = np.zeros((n, rows, cols), dtype=np.int8)  # 0: diagonal, 1: from the row above, 2: from the left
    for d in range(rows + cols - 1):  # anti-diagonals i + k = d depend on the two before them only
        i = np.arange(max(0, d - cols + 1), min(rows - 1, d) + 1)
        k = d - i
        prev = np.stack([acc[:, i, k], acc[:, i, k + 1], acc[:, i + 1, k]])  # (3, N, cells)
        choice = prev.argmin(0)
        step[:, i, k] = choice
        acc[:, i + 1, k + 1] = dist[:, i, k] + np.take_along_axis(prev, choice[None], 0)[0]
    path = np.zeros((n, rows, cols), dtype=bool)
    i, k, batch = np.full(n, rows - 1), np.full(n, cols - 1), np.arange(n)
    for _ in range(rows + cols - 1):
        path[batch, i, k] = True
        s = step[batch, i, k]
        moving = (i > 0) | (k > 0)
        i = np.where(moving & (s != 2), i - 1, i)
        k = np.where(moving & (s != 1), k - 1, k)
    return path


def warp_to(nominal: np.ndarray, curves: np.ndarray) -> np.ndarray:
    """DTW-align ``curves`` ``(N, K, D)`` to the ``nominal`` curve ``(L, D)`` → ``(N, L, D)``: frame j of a
    warped curve is, among the frames the optimal path matches to nominal frame j, the one nearest to it
    (squared Euclidean cost, as the reference's ``warp_the_curves``)."""
    nominal, curves = np.asarray(nominal, np.float64), np.asarray(curves, np.float64)
    dist = ((nominal**2).sum(-1)[None, :, None] + (curves**2).sum(-1)[:, None, :]
            - 2 * np.einsum("ld,nkd->nlk", nominal, curves)).clip(min=0)
    pick = np.where(dtw_paths(dist), dist, np.inf).argmin(-1)  # (N, L) frame of each curve for each nominal frame
    return np.take_along_axis(curves, pick[..., None], 1)


def nominal_curve(curves: np.ndarray, iterations: int = 25) -> np.ndarray:
    """A class's nominal curve ``(L, D)`` from its training curves ``(N, L, D)``: start from the first, then
    ``iterations`` times warp every curve to it and take their mean (the reference's
    ``compute_nominal_curve_using_dtw``)."""
    curves = np.asarray(curves, np.float64)
    nominal = curves[0]
    for _ in range(iterations):
        nominal = warp_to(nominal, curves).mean(0)
    return nominal


def reference_ftp(curves: np.ndarray, levels: int = 3) -> np.ndarray:
    """The reference's Fourier temporal pyramid of ``(N, L, D)`` curves → ``(N, (2^levels − 1)·(L//4)·D)``:
    level l splits the L frames into 2^l segments (starts ``floor(1 : L/2^l : L)``); each segment's FFT,
    zero-padded to L points, keeps the magnitude of its DC term and twice those of terms 1 … L//4 − 1
    (``get_fourier_coeffs_pyramid``: low frequencies at one resolution on every level, not normalised)."""
    curves = np.asarray(curves, np.float64)
    length, keep = curves.shape[1], curves.shape[1] // 4
    feats = []
    for level in range(levels):
        starts = np.floor(np.arange(0, length, length / 2**level)).astype(int)
        for a, b in zip(starts, list(starts[1:]) + [length]):
            mag = np.abs(np.fft.fft(curves[:, a:b], n=length, axis=1))[:, :keep]
            mag[:, 1:] *= 2
            feats.append(mag)
    return np.concatenate(feats, 1).reshape(len(curves), -1).astype(np.float32)


class SO3DTWSVM:
    """The reference pipeline's temporal model and classifier (Vemulapalli et al. 2014): every class has a
    nominal curve (:func:`nominal_curve`, from its training curves); for class c every curve is DTW-aligned to
    c's nominal curve (:func:`warp_to`), described by :func:`reference_ftp`, and scored by c's binary linear
    SVM (C = 1 on the raw features: libsvm with a linear kernel, as released). The class of highest score
    wins (one-vs-all). Curves ``(T, D)`` are first resampled linearly to ``frames`` (the release's 76 for
    MSR Action3D, 74 for UTKinect)."""

    def __init__(self, C: float = 1.0, frames: int = 76, levels: int = 3, iterations: int = 25) -> None:
        self.C, self.frames, self.levels, self.iterations = C, frames, levels, iterations

    def _resampled(self, curves: list[np.ndarray]) -> np.ndarray:
        out = []
        for c in curves:
            pos = np.linspace(0, len(c) - 1, self.frames)
            lo = np.floor(pos).astype(int)
            hi, w = np.minimum(lo + 1, len(c) - 1), (pos - lo)[:, None]
            out.append(c[lo] * (1 - w) + c[hi] * w)
        return np.stack(out)

    def fit(self, curves: list[np.ndarray], labels: np.ndarray) -> "SO3DTWSVM":
        from sklearn.svm import SVC

        x, labels = self._resampled(curves), np.asarray(labels)
        self.classes_ = np.unique(labels)
        self.nominals_, self.weights_, self.biases_ = [], [], []
        for c in self.classes_:
            nominal = nominal_curve(x[labels == c], self.iterations)
            feats = reference_ftp(warp_to(nominal, x), self.levels).astype(np.float64)
            svm = SVC(kernel="precomputed", C=self.C).fit(feats @ feats.T, labels == c)
            w = svm.dual_coef_[0] @ feats[svm.support_]  # linear kernel: w = Σ αᵢ yᵢ xᵢ
            sign = 1.0 if svm.classes_[1] else -1.0  # decision_function is positive for classes_[1]
            self.nominals_.append(nominal)
            self.weights_.append(sign * w)
            self.biases_.append(sign * float(svm.intercept_[0]))
        return self

    def decision_function(self, curves: list[np.ndarray]) -> np.ndarray:
        """``(N, classes)`` one-vs-all scores, each on the curves aligned to that class's nominal curve."""
        x = self._resampled(curves)
        return np.stack([reference_ftp(warp_to(n, x), self.levels).astype(np.float64) @ w + b
                         for n, w, b in zip(self.nominals_, self.weights_, self.biases_)], 1)

    def predict(self, curves: list[np.ndarray]) -> np.ndarray:
        return self.classes_[self.decision_function(curves).argmax(1)]
