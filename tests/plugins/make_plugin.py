"""Build a tiny third-party fer-bench plugin distribution in a directory.

It is installed the way pip would leave it: a module plus a ``*.dist-info`` folder
whose ``entry_points.txt`` registers the method under ``fer_bench.methods``. Putting the
directory on ``PYTHONPATH`` makes ``fer-bench`` find it without touching the engine.
"""

from __future__ import annotations

from pathlib import Path

PLUGIN_SOURCE = '''
"""A third-party method: nearest class centroid, optionally slowed down (for tests)."""
import time

import numpy as np

from fer_bench import ImageSpec, Method


class NearestCentroid(Method):
    name = "centroid"
    description = "Nearest class centroid on 16x16 pixels (test plugin)"
    citation = "Tests of fer-bench"
    parameters = {"delay": 0.0, "size": 16}
    feature_parameters = ("size",)

    def input_spec(self):
        return ImageSpec(size=(self.size, self.size), color="gray")

    def fit(self, X_train, y_train, X_val, y_val, *, random_state):
        time.sleep(self.delay)
        X = np.asarray(X_train, dtype=float).reshape(len(X_train), -1)
        self.classes_ = np.unique(y_train)
        self.centroids_ = np.stack([X[y_train == c].mean(0) for c in self.classes_])
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=float).reshape(len(X), -1)
        d = ((X[:, None, :] - self.centroids_[None]) ** 2).sum(-1)
        return self.classes_[d.argmin(1)]
'''


def make_plugin(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "fer_bench_test_plugin.py").write_text(PLUGIN_SOURCE)
    info = root / "fer_bench_test_plugin-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fer-bench-test-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[fer_bench.methods]\ncentroid = fer_bench_test_plugin:NearestCentroid\n"
    )
    return root
