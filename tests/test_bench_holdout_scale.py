"""benchmarks/bench_holdout_scale.py: the stratified FER2013 subsets it measures on."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

from fer_bench.datasets import load_dataset

from .test_large_datasets import fer_rows, write_fer_csv

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_holdout_scale.py"


def load_script():
    spec = importlib.util.spec_from_file_location("bench_holdout_scale", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_subset_keeps_class_shares_per_usage_and_the_rows_themselves(tmp_path):
    bench = load_script()
    rows = fer_rows(n=700 + 14, seed=3)  # 700 Training, 7 PublicTest, 7 PrivateTest; 100 Training per class
    source = write_fer_csv(tmp_path / "full.csv", rows)
    emotion, usage = bench.read_cells(source)
    keep = bench.subset_rows(emotion, usage, 357, seed=0)
    assert keep.tolist() == sorted(set(keep.tolist()))  # file order, no repeats
    cells = Counter((usage[i], emotion[i]) for i in keep)
    # 357 / 714 = one half: 50 Training images per class; every (test split, class) cell keeps at least one.
    assert all(cells[("Training", c)] == 50 for c in range(7))
    assert all(cells[(u, c)] >= 1 for u in ("PublicTest", "PrivateTest") for c in range(7))
    assert bench.subset_rows(emotion, usage, 357, seed=0).tolist() == keep.tolist()
    assert bench.subset_rows(emotion, usage, 357, seed=1).tolist() != keep.tolist()

    subset = tmp_path / "subset.csv"
    bench.write_subset(source, keep, subset)
    full, part = load_dataset(f"fer2013:{source}"), load_dataset(f"fer2013:{subset}")
    assert len(part) == len(keep)
    assert Counter(part.splits) == Counter({"train": 350, "val": sum(cells[("PublicTest", c)] for c in range(7)),
                                            "test": sum(cells[("PrivateTest", c)] for c in range(7))})
    for j, i in enumerate(keep[:20]):
        assert (part.read_image(j) == full.read_image(int(i))).all() and part.labels[j] == full.labels[int(i)]
