"""How often dlib's detector finds the face: whole frames and ready-made small crops.

    python benchmarks/bench_face_detection.py --dataset jaffe:../shared/datasets/jaffe
    python benchmarks/bench_face_detection.py --dataset synthetic

For every image: the detection rate of :func:`fer_bench.faces.detect_face` on the whole
frame; then, for images with a detected face, crops that imitate datasets of ready-made
faces (CK+48, FER2013: 48×48; RAF-DB aligned: 100×100): the detector's box shrunk by 0 %,
10 % or 20 % of its side on every side (tighter than the detector's own framing), resized
to 48 or 100 px, and searched for again, (a) by the bare detector (``upsample`` 0 and 1)
and (b) by fer-bench's route (upscale to 192 px and pad, :data:`fer_bench.faces.SMALL_SIDE`).
Writes ``benchmarks/results/<--output>.json`` and ``.md`` (default ``face_detection``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="synthetic")
    parser.add_argument("--every", type=int, default=1, help="use every n-th image")
    parser.add_argument("--output", default="face_detection")
    args = parser.parse_args(argv)

    import numpy as np
    from PIL import Image

    from fer_bench import faces, load_dataset

    ds = load_dataset(args.dataset)
    detector = faces.frontal_face_detector()
    found, crops = 0, {}
    indices = range(0, len(ds), args.every)
    for i in indices:
        gray = faces.to_gray_uint8(ds.read_image(i))
        hit = faces.detect_face(gray)
        if hit is None:
            continue
        found += 1
        left, top, right, bottom = hit[0]
        for shrink in (0.0, 0.1, 0.2):
            s = shrink * (right - left)
            box = np.array([left + s, top + s, right - s, bottom - s])
            cut = faces.cut_region(gray, (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[2] - box[0], box[3] - box[1])
            for side in (48, 100):
                small = np.asarray(Image.fromarray(cut).resize((side, side), Image.Resampling.BICUBIC))
                row = crops.setdefault(f"{side}px, shrunk {shrink:.0%}", {"n": 0, "bare": 0, "bare_upsample1": 0,
                                                                          "fer_bench": 0})
                row["n"] += 1
                row["bare"] += bool(len(detector(small, 0)))
                row["bare_upsample1"] += bool(len(detector(small, 1)))
                row["fer_bench"] += faces.detect_face(small) is not None
    n = len(indices)
    record = {
        "command": "python " + shlex.join([f"benchmarks/{Path(__file__).name}", *(argv if argv is not None else sys.argv[1:])]),
        "dataset": ds.spec, "images": n, "whole_frame_found": found,
        "small_side": faces.SMALL_SIDE, "small_pad": faces.SMALL_PAD,
        "crops": crops,
    }
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    name = args.output
    (results / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        f"# Face detection rates on `{ds.name}`",
        "",
        f"Produced by `{record['command']}`. Whole frames: a face in {found} of {n} images "
        f"({100 * found / n:.1f} %). Ready-made crops made from the detected faces (detection rate, %):",
        "",
        "| crop | n | bare detector | bare, upsampled once | fer-bench (upscale to 192 px + pad) |",
        "|---|---|---|---|---|",
    ]
    for label, row in crops.items():
        pct = {k: 100 * row[k] / row["n"] for k in ("bare", "bare_upsample1", "fer_bench")}
        lines.append(f"| {label} | {row['n']} | {pct['bare']:.1f} | {pct['bare_upsample1']:.1f} | {pct['fer_bench']:.1f} |")
    (results / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
