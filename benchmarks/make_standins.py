"""Synthetic stand-ins for FER2013 and RAF-DB: same sizes, image sizes, class shares and splits.

The benchmarks need data the size of the field's large datasets without their licences,
so this script draws faces with fer-bench's synthetic generator
(:mod:`fer_bench.datasets.synthetic`: identity, FACS-based expression prototypes, pose,
lighting, noise; learnable, see its "Difficulty") and writes them in the datasets' own
formats, read back by the real sources:

``OUT/fer2013/fer2013.csv``
    35,887 grayscale 48×48 images in the original CSV format (``emotion,pixels,Usage``,
    codes 0 angry … 6 neutral), rows in the official order Training, PublicTest,
    PrivateTest with the official split sizes 28,709 / 3,589 / 3,589 and class counts
    per split (:data:`FER2013_COUNTS`). Read it with ``--dataset fer2013:OUT/fer2013``.
``OUT/rafdb/basic/``
    15,339 RGB 100×100 JPEGs in RAF-DB's basic layout: ``EmoLabel/list_patition_label.txt``
    (``train_00001.jpg 5``) and ``Image/aligned/train_00001_aligned.jpg``, 12,271 train
    and 3,068 test images with the official class counts (:data:`RAFDB_COUNTS`, codes
    1 surprise … 7 neutral). Read it with ``--dataset rafdb:OUT/rafdb/basic``.

Both sets are in-the-wild collections without subject ids, so the stand-ins draw each
image's person at random from a pool of ``N / images_per_person`` people (default 10
images per person) and write no subject id. RAF-DB's photos are in colour: each grayscale
face gets a random skin-like colour cast (per-channel gains), so the three channels differ.
Everything is deterministic in ``--seed`` and the image index (so ``--jobs`` does not change
the output); ``--scale`` shrinks every count proportionally (largest-remainder rounding,
at least one image per class and split) for growth measurements, e.g. ``--scale 0.1`` for
3,589 FER2013 images.

``--duplicates G`` copies the pixels of G randomly chosen images onto G other randomly
chosen images (labels and splits unchanged), making G groups of identical images that cross
splits and disagree on labels about as often as two random images do. This exercises the
duplicate check at FER2013's scale (the issue quotes about 1,500 such groups in FER2013);
it does not reproduce FER2013's own duplicate statistics. Default 0.

Usage (not committed: write under a cache or tmp directory)::

    python benchmarks/make_standins.py $FER_BENCH_CACHE/standins            # both, full size
    python benchmarks/make_standins.py /tmp/standins --which fer2013 --scale 0.1 --jobs 2

Class counts: FER2013 Training per class from public counts of the official CSV (e.g.
the Kaggle image-folder export's ``train/``: angry 3,995, disgust 436, fear 4,097, happy
7,215, sad 4,830, surprise 3,171, neutral 4,965); PublicTest / PrivateTest per class
as counted in ``fer2013.csv`` (their sums, 958 / 111 / 1,024 / 1,774 / 1,247 / 831 /
1,233, are the export's ``test/`` folder). RAF-DB: train / test per class as counted
in ``list_patition_label.txt`` (totals per class 1,619 / 355 / 877 / 5,957 / 2,460 /
867 / 3,204, as quoted by public projects).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

#: FER2013 images per (Usage, emotion code 0-6): angry, disgust, fear, happy, sad, surprise, neutral.
FER2013_COUNTS: dict[str, tuple[int, ...]] = {
    "Training": (3995, 436, 4097, 7215, 4830, 3171, 4965),
    "PublicTest": (467, 56, 496, 895, 653, 415, 607),
    "PrivateTest": (491, 55, 528, 879, 594, 416, 626),
}
#: RAF-DB basic images per (split, code 1-7): surprise, fear, disgust, happiness, sadness, anger, neutral.
RAFDB_COUNTS: dict[str, tuple[int, ...]] = {
    "train": (1290, 281, 717, 4772, 1982, 705, 2524),
    "test": (329, 74, 160, 1185, 478, 162, 680),
}
FER2013_ORDER = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")
RAFDB_ORDER = ("surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral")


def scaled_counts(counts: dict[str, tuple[int, ...]], scale: float) -> dict[str, tuple[int, ...]]:
    """Every count × ``scale``, rounded by largest remainder per split (at least 1 each)."""
    if scale == 1.0:
        return dict(counts)
    out = {}
    for split, row in counts.items():
        exact = np.asarray(row, dtype=float) * scale
        target = max(len(row), int(round(exact.sum())))
        base = np.maximum(np.floor(exact).astype(int), 1)
        order = np.argsort(-(exact - np.floor(exact)), kind="stable")
        k = 0
        while base.sum() < target:
            base[order[k % len(row)]] += 1
            k += 1
        out[split] = tuple(int(v) for v in base)
    return out


def _labels_in_order(counts: dict[str, tuple[int, ...]], seed: int) -> list[tuple[str, int]]:
    """(split, class code 0-based) of every image: splits in ``counts`` order, classes shuffled within."""
    rng = np.random.default_rng([seed, 7])
    out = []
    for split, row in counts.items():
        codes = np.repeat(np.arange(len(row)), row)
        out += [(split, int(c)) for c in rng.permutation(codes)]
    return out


def _render_chunk(task) -> np.ndarray:
    """Render images ``indices`` (uint8, (n, size, size) or (n, size, size, 3) with ``colour``)."""
    from fer_bench.datasets.synthetic import INTENSITY_RANGE, render_face, sample_person, sample_pose

    indices, expressions, people, size, seed, colour = task
    persons: dict[int, object] = {}
    out = np.empty((len(indices), size, size, 3) if colour else (len(indices), size, size), dtype=np.uint8)
    for k, (i, expression, person) in enumerate(zip(indices, expressions, people)):
        if person not in persons:
            persons[person] = sample_person(np.random.default_rng([seed, 1, person]))
        rng = np.random.default_rng([seed, 2, i])
        pose = sample_pose(rng)
        intensity = rng.uniform(*INTENSITY_RANGE)
        face = render_face(persons[person], expression, intensity, pose, rng, size=size)
        if colour:
            gains = np.array([rng.uniform(1.0, 1.12), rng.uniform(0.86, 1.0), rng.uniform(0.7, 0.9)])
            out[k] = np.clip(face[:, :, None].astype(np.float32) * gains, 0, 255).astype(np.uint8)
        else:
            out[k] = face
    return out


def render_all(expressions: list[str], size: int, seed: int, colour: bool, jobs: int, per_person: int) -> np.ndarray:
    """Render every image (in order); deterministic whatever ``jobs``."""
    n = len(expressions)
    n_people = max(1, n // per_person)
    people = np.random.default_rng([seed, 3]).integers(0, n_people, n)
    step = 1000
    tasks = [
        (list(range(s, min(n, s + step))), expressions[s : s + step], people[s : s + step].tolist(), size, seed, colour)
        for s in range(0, n, step)
    ]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            parts = list(pool.map(_render_chunk, tasks))
    else:
        parts = [_render_chunk(t) for t in tasks]
    return np.concatenate(parts)


def inject_duplicates(images: np.ndarray, groups: int, seed: int) -> list[tuple[int, int]]:
    """Copy ``groups`` random images onto ``groups`` other random images, in place; returns (source, copy) pairs."""
    if groups <= 0:
        return []
    if 2 * groups > len(images):
        raise SystemExit(f"--duplicates {groups}: at most {len(images) // 2} for {len(images)} images")
    rng = np.random.default_rng([seed, 11])
    chosen = rng.choice(len(images), size=2 * groups, replace=False)
    pairs = [(int(a), int(b)) for a, b in zip(chosen[:groups], chosen[groups:])]
    for a, b in pairs:
        images[b] = images[a]
    return pairs


def write_fer2013(out: Path, scale: float, seed: int, jobs: int, duplicates: int, per_person: int) -> dict:
    counts = scaled_counts(FER2013_COUNTS, scale)
    order = _labels_in_order(counts, seed)
    images = render_all([FER2013_ORDER[c] for _, c in order], 48, seed, False, jobs, per_person)
    pairs = inject_duplicates(images, duplicates, seed)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "fer2013.csv"
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="\n") as handle:
        handle.write("emotion,pixels,Usage\n")
        text = [str(v) for v in range(256)]  # 4× faster than str() per pixel
        for (usage, code), img in zip(order, images):
            handle.write(f"{code},{' '.join([text[v] for v in img.ravel().tolist()])},{usage}\n")
    tmp.replace(path)
    return {"path": str(path), "images": len(order), "counts": counts, "duplicate_pairs": len(pairs)}


def write_rafdb(out: Path, scale: float, seed: int, jobs: int, duplicates: int, per_person: int) -> dict:
    from PIL import Image

    counts = scaled_counts(RAFDB_COUNTS, scale)
    order = _labels_in_order(counts, seed + 1)
    images = render_all([RAFDB_ORDER[c] for _, c in order], 100, seed + 1, True, jobs, per_person)
    pairs = inject_duplicates(images, duplicates, seed + 1)
    basic = out / "basic"
    aligned = basic / "Image" / "aligned"
    aligned.mkdir(parents=True, exist_ok=True)
    (basic / "EmoLabel").mkdir(parents=True, exist_ok=True)
    lines, seen = [], {"train": 0, "test": 0}
    for (split, code), img in zip(order, images):
        seen[split] += 1
        name = f"{split}_{seen[split]:05d}" if split == "train" else f"{split}_{seen[split]:04d}"
        lines.append(f"{name}.jpg {code + 1}")
        Image.fromarray(img).save(aligned / f"{name}_aligned.jpg", quality=95)
    (basic / "EmoLabel" / "list_patition_label.txt").write_text("\n".join(lines) + "\n")
    return {"path": str(basic), "images": len(order), "counts": counts, "duplicate_pairs": len(pairs)}


def _cpu_seconds() -> float:
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="output directory (under a cache or tmp directory; never commit it)")
    parser.add_argument("--which", default="fer2013,rafdb", help="comma list of fer2013, rafdb (default both)")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the official sizes (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="processes rendering faces (default 1)")
    parser.add_argument("--duplicates", type=int, default=0, help="groups of identical images to inject (default 0)")
    parser.add_argument("--images-per-person", type=int, default=10, help="size of the person pool: N / this")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")
    which = [w.strip() for w in args.which.split(",") if w.strip()]
    unknown = set(which) - {"fer2013", "rafdb"}
    if unknown:
        parser.error(f"--which: unknown {', '.join(sorted(unknown))}")
    out = Path(args.out)
    report = {"command": "python benchmarks/make_standins.py " + " ".join(sys.argv[1:] if argv is None else argv)}
    writers = {"fer2013": write_fer2013, "rafdb": write_rafdb}
    for name in which:
        start, cpu = time.perf_counter(), _cpu_seconds()
        info = writers[name](out / name, args.scale, args.seed, args.jobs, args.duplicates, args.images_per_person)
        info["seconds"] = round(time.perf_counter() - start, 1)
        info["cpu_seconds"] = round(_cpu_seconds() - cpu, 1)  # this process and its --jobs workers
        report[name] = info
        print(f"{name}: {info['images']} images → {info['path']} ({info['seconds']} s)", file=sys.stderr)
    (out / "standins.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
