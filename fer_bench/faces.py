"""Face detection, landmarks, crop and alignment: the shared face preprocessing.

Every method's :class:`~fer_bench.registry.ImageSpec` says which face preprocessing it
wants (``face``):

- ``"none"``: the whole frame, resized (what a dataset of ready-made face crops needs);
- ``"crop"``: the face box of dlib's HOG frontal-face detector (Dalal & Triggs 2005 HOG
  features with a linear SVM, trained by D. E. King, dlib, JMLR 10, 2009), made square,
  enlarged by :data:`CROP_MARGIN` on every side (so that brows and chin stay in), cut out
  (pixels outside the frame repeat the border) and resized;
- ``"align"``: the eye centres and the base of the nose from dlib's 5-point shape
  predictor (an ensemble of regression trees, Kazemi & Sullivan, CVPR 2014; model file
  ``shape_predictor_5`` of :mod:`fer_bench.weights`) mapped by the least-squares
  similarity transform (rotation, uniform scale, translation; Umeyama 1991, as
  ``skimage.transform.SimilarityTransform``) onto the canonical :data:`TEMPLATE`. The
  mouth is deliberately not used: it moves with the expression (an open mouth would
  shrink a surprised face), whereas eye centres and the nose base are nearly rigid.

Detection (:func:`detect_face`) works on an 8-bit grayscale copy:

- *already-cropped faces* (shorter side under :data:`SMALL_SIDE` = 192 px, e.g. CK+48's
  48×48, FER2013's 48×48, RAF-DB's aligned 100×100) are upscaled by the smallest
  integer factor that brings the shorter side to 192 px (4× for 48 px, 2× for 100 px;
  dlib's detector window is 80×80 px, so it cannot see a face filling a 48-px frame) and
  padded on every side by half their size with their mean grey (the detector needs some
  background around the face: a tight crop padded this way is found, one without padding
  mostly not; ``benchmarks/bench_face_detection.py`` measures it);
- large photographs (longer side over :data:`LARGE_SIDE` = 1024 px) are downscaled for
  detection only;
- the detector runs at its own threshold (0) without upsampling, then once more with one
  upsampling (faces down to ~40 px) when it found nothing. (On upscaled crops the second
  pass still finds faces the first missed: its image pyramid samples other scales.)

Images with several faces (a bystander, a group photo, the unaligned originals of web
datasets) are counted and named, never silently reduced to one: :func:`face_geometry`
records how many faces the detector found in every image, and the run says how many
images had several and which rule chose the face (``--several-faces``,
:data:`SEVERAL_FACES`):

- ``largest`` (the default): the largest box, then the one nearest the image centre, then
  the detector's higher score. An assumption, not a measurement: a photograph collected
  for one person's expression is usually framed on that person, who is then its most
  prominent face.
  dlib's boxes come in the discrete sizes of its image pyramid, so two faces of nearly
  the same size often get boxes of the same area: the centre decides then.
- ``central``: the box nearest the image centre, then the largest, then the score
  (for photos framed on the labelled person, with larger faces around it).
- ``drop``: images with several faces are left out of the dataset before any split
  (:func:`drop_several_faces`; counted and named in the output and ``run.json``), for
  data in which no rule can tell which face carries the label.

The rule is part of every cache key and identity that depends on which face was used
(the geometry, the image and feature caches, a results directory's configuration).

Detection and landmarks run in ``jobs`` processes (joblib) over contiguous chunks of the
dataset when asked (:func:`face_geometry`); every image is treated on its own, so the
result does not depend on ``jobs``.

Images in which no face is found are never dropped. The documented fallback
(:data:`FALLBACK`): such an image uses the *median* face box (``crop``) or the median
landmarks (``align``) of the images of the same dataset in which a face was found, in
frame-relative coordinates, so that it gets the framing typical of its dataset; when no
image of the dataset has a detected face, the whole frame is the face box (``crop``) and
the landmark model is run on the whole frame (``align``: right for ready-made face crops).
:func:`face_report` counts and names them; the engine stores the list with the results.

Detections and landmarks are computed once per dataset and cached (:func:`face_geometry`;
the key holds the dataset fingerprint, the detector's settings and dlib version, the rule
for several faces, and the landmark model's SHA-256); images are cached per (size, colour, face preprocessing,
template) by :func:`fer_bench.preprocess.load_images`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from .errors import FerBenchError

log = logging.getLogger(__name__)

#: The face preprocessings an :class:`~fer_bench.registry.ImageSpec` may ask for.
FACE_MODES = ("none", "crop", "align")
#: Landmark models alignment can use (names of :data:`fer_bench.weights.MODEL_FILES`).
LANDMARK_MODELS = ("shape_predictor_5", "shape_predictor_68")
#: Bump when detection, fallback, crop or alignment code changes what it computes.
FACES_VERSION = "2"  # 2: several faces are counted; the rule (largest, then central) chooses

#: Rules for the face used when the detector finds several (``--several-faces``); see the
#: module docstring for each rule and why ``largest`` is the default.
SEVERAL_FACES = ("largest", "central", "drop")
#: What each rule does, in words for the output and the report.
SEVERAL_FACES_TEXT = {
    "largest": "the largest face was used (then the one nearest the image centre, then the detector's score)",
    "central": "the face nearest the image centre was used (then the largest, then the detector's score)",
    "drop": "these images were left out of the dataset before the split",
}

#: Images whose shorter side is below this many pixels are treated as ready-made face
#: crops: upscaled to it and padded before detection (see the module docstring).
SMALL_SIDE = 192
#: Padding of a small image before detection, as a fraction of its (upscaled) side.
SMALL_PAD = 0.5
#: Longer side above which an image is downscaled for detection.
LARGE_SIDE = 1024
#: Margin added on every side of the (squared) detector box by ``crop``, as a fraction
#: of the box side: dlib's box runs from just above the brows to about the chin.
CROP_MARGIN = 0.15

FALLBACK = (
    "an image without a detected face takes the median face box (crop) or landmarks (align) of the images of "
    "the same dataset with one, in frame-relative coordinates; when no image has one, the whole frame is the "
    "face box (crop) and the landmark model runs on the whole frame (align)"
)


class FaceModelError(FerBenchError):
    """The face detector or landmark model cannot be used (not installed, unreadable)."""


@dataclass(frozen=True)
class Template:
    """The canonical face geometry that ``align`` maps every face onto.

    Coordinates are in *face units*: the distance between the eye centres is 1, the origin
    is midway between them, x to the image right, y down. ``frame`` is the face box
    (x0, y0, x1, y1) that fills the output: 3 units wide, from 1 unit above the eye
    line (brows sit about 0.35 units above it, forehead above them) to 2 units below it
    (the chin is about 1.75 units below). The frame is centred on the output; on a
    non-square output it keeps its area (one unit is sqrt(height × width) / 3 pixels),
    so a tall output (lbp-svm's 150×110) shows more forehead and chin and a little less
    cheek. On a square output the eyes land at (1/3, 1/3) and (2/3, 1/3) of the side, the
    nose base at (1/2, 0.583).
    """

    eye_left: tuple[float, float] = (-0.5, 0.0)  # the eye on the image's left (the person's right eye)
    eye_right: tuple[float, float] = (0.5, 0.0)
    nose: tuple[float, float] = (0.0, 0.75)  # base of the nose (subnasale)
    frame: tuple[float, float, float, float] = (-1.5, -1.0, 1.5, 2.0)

    def points(self) -> np.ndarray:
        """3×2 float64: eye_left, eye_right, nose (face units)."""
        return np.array([self.eye_left, self.eye_right, self.nose], dtype=np.float64)

    def to_pixels(self, height: int, width: int) -> np.ndarray:
        """The template points in the pixel coordinates (x, y) of a height×width output."""
        x0, y0, x1, y1 = self.frame
        unit = math.sqrt(width * height / ((x1 - x0) * (y1 - y0)))
        centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
        return (self.points() - centre) * unit + np.array([width / 2, height / 2])

    def key(self) -> dict[str, Any]:
        """The template's fields as JSON-ready lists (``{"eye_left": [-0.5, 0.0], …}``, face
        units): part of the ``align`` preprocessing's cache key, so changing the geometry
        can never serve stale aligned faces."""
        return {k: list(v) for k, v in asdict(self).items()}


TEMPLATE = Template()


# -- models -----------------------------------------------------------------------------
def _dlib():
    try:
        import dlib
    except ImportError as exc:  # pragma: no cover - dlib-bin is a dependency
        raise FaceModelError(
            f"face preprocessing needs dlib ({exc}); install it with `pip install dlib-bin`, "
            "or use face=none"
        ) from None
    return dlib


@lru_cache(maxsize=1)
def frontal_face_detector():
    """dlib's HOG + linear SVM frontal-face detector (built into dlib, no file)."""
    return _dlib().get_frontal_face_detector()


@lru_cache(maxsize=4)
def _shape_predictor(path: str, sha256: str):
    try:
        return _dlib().shape_predictor(path)
    except RuntimeError as exc:
        raise FaceModelError(f"dlib cannot read the landmark model {path}: {exc}") from None


def shape_predictor(name: str = "shape_predictor_5"):
    """(predictor, SHA-256) of an installed, hash-verified landmark model."""
    from . import weights

    if name not in LANDMARK_MODELS:
        raise FaceModelError(f"unknown landmark model {name!r}; use one of {', '.join(LANDMARK_MODELS)}")
    path = weights.model_path(name)
    sha = weights.verify_model_file(path, weights.MODEL_FILES[name])
    return _shape_predictor(str(path), sha), sha


def detector_key() -> dict[str, Any]:
    """What identifies the detector's output (part of every face cache key)."""
    return {
        "detector": "dlib.get_frontal_face_detector",
        "dlib": _dlib().__version__,
        "small_side": SMALL_SIDE,
        "small_pad": SMALL_PAD,
        "large_side": LARGE_SIDE,
        "version": FACES_VERSION,
    }


def unmet_requirements(face: str, landmarks: str = "shape_predictor_5") -> list[str]:
    """Why a face preprocessing cannot run here (empty when it can); cheap, no hashing."""
    import importlib.util

    if face == "none":
        return []
    if importlib.util.find_spec("dlib") is None:
        return [f"face={face} needs dlib: pip install dlib-bin (or use --face none)"]
    if face == "align":
        from . import weights

        reason = weights.model_availability(landmarks)
        return [f"face=align needs the landmark model: {reason}"] if reason else []
    return []


# -- detection --------------------------------------------------------------------------
def to_gray_uint8(image: np.ndarray) -> np.ndarray:
    """A 2-D uint8 copy of a decoded image (ITU-R 601 luma for colour, as PIL's ``L``)."""
    if image.ndim == 2:
        return np.ascontiguousarray(image, dtype=np.uint8)
    from PIL import Image

    return np.asarray(Image.fromarray(np.ascontiguousarray(image[..., :3], dtype=np.uint8)).convert("L"))


def working_image(gray: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The image the detector sees and how to map back: (work, scale, pad) with
    ``original = (work - pad) / scale`` for both coordinates."""
    from PIL import Image

    height, width = gray.shape
    short, long = min(height, width), max(height, width)
    if short < SMALL_SIDE:
        factor = math.ceil(SMALL_SIDE / short)
        big = np.asarray(Image.fromarray(gray).resize((width * factor, height * factor), Image.Resampling.BICUBIC))
        pad = int(round(SMALL_PAD * max(big.shape)))
        work = np.pad(big, pad, mode="constant", constant_values=int(round(float(gray.mean()))))
        return np.ascontiguousarray(work), float(factor), float(pad)
    if long > LARGE_SIDE:
        factor = LARGE_SIDE / long
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        return np.asarray(Image.fromarray(gray).resize(size, Image.Resampling.BILINEAR)), factor, 0.0
    return gray, 1.0, 0.0


def check_rule(rule: str) -> str:
    """``rule`` if it is one of :data:`SEVERAL_FACES`; else a
    :class:`~fer_bench.errors.FerBenchError` naming the option and its choices."""
    if rule not in SEVERAL_FACES:
        raise FerBenchError(f"--several-faces {rule!r}: use one of {', '.join(SEVERAL_FACES)}")
    return rule


def choose_face(boxes: np.ndarray, scores, height: int, width: int, rule: str = "largest") -> int:
    """The index of the face ``rule`` takes among several detections (:data:`SEVERAL_FACES`).

    ``boxes``: (n, 4) left, top, right, bottom in the pixels of a height×width image;
    ``scores``: the detector's n scores. ``largest`` orders by box area (largest first),
    then the distance of the box centre from the image centre (nearest first), then the
    score (highest first); ``central`` by the distance first, then the area, then the
    score. ``drop`` chooses like ``largest`` (its images with several faces are left out
    before any face is used)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    centre = np.array([width / 2, height / 2])
    distance = np.hypot(*((boxes[:, :2] + boxes[:, 2:]) / 2 - centre).T)
    score = np.asarray(scores, dtype=np.float64)
    keys = [(-area[i], distance[i], -score[i]) if check_rule(rule) != "central" else (distance[i], -area[i], -score[i])
            for i in range(len(boxes))]
    return min(range(len(boxes)), key=keys.__getitem__)


def detect_faces(gray: np.ndarray, rule: str = "largest"):
    """The frontal face ``rule`` chooses in a 2-D uint8 image, and how many were found.

    Returns ``(box, score, n_faces)`` with ``box`` = (left, top, right, bottom) as float64
    pixel coordinates of ``gray`` (may extend past the frame), or ``None`` when no face
    is found. ``n_faces`` counts the detections of the pass that found faces.
    """
    work, scale, pad = working_image(gray)
    detector = frontal_face_detector()
    for upsample in (0, 1):
        rects, scores, _ = detector.run(work, upsample, 0.0)
        if len(rects):
            boxes = (np.array([[r.left(), r.top(), r.right() + 1, r.bottom() + 1] for r in rects], dtype=np.float64)
                     - pad) / scale
            best = choose_face(boxes, scores, *gray.shape, rule=rule)
            return boxes[best], float(scores[best]), len(rects)
    return None


def detect_face(gray: np.ndarray, rule: str = "largest"):
    """The frontal face ``rule`` chooses (:func:`choose_face`; default the largest) in a
    2-D uint8 image.

    Returns ``(box, score)`` with ``box`` = (left, top, right, bottom) as float64 pixel
    coordinates of ``gray`` (may extend past the frame), or ``None``. :func:`detect_faces`
    also says how many faces were found.
    """
    found = detect_faces(gray, rule)
    return None if found is None else found[:2]


def alignment_points(parts: np.ndarray) -> np.ndarray:
    """3×2 (x, y): eye-left centre, eye-right centre, nose base, from a landmark model's
    points (5: dlib's 5-point order, eye corners 2-3 and 0-1 and the nose base 4;
    68: iBUG 300-W order, eyes 36-41 and 42-47, nose base 33)."""
    parts = np.asarray(parts, dtype=np.float64)
    if len(parts) == 5:
        a, b, nose = parts[[2, 3]].mean(0), parts[[0, 1]].mean(0), parts[4]
    elif len(parts) == 68:
        a, b, nose = parts[36:42].mean(0), parts[42:48].mean(0), parts[33]
    else:
        raise FaceModelError(f"a landmark model with {len(parts)} points is not supported (5 or 68)")
    left, right = (a, b) if a[0] <= b[0] else (b, a)
    return np.stack([left, right, nose])


def landmarks_in(gray: np.ndarray, box: np.ndarray, predictor) -> np.ndarray:
    """3×2 alignment points (:func:`alignment_points`) of the face in ``box`` (left, top,
    right, bottom in ``gray``'s pixels), predicted on the same working image as detection."""
    dlib = _dlib()
    work, scale, pad = working_image(gray)
    left, top, right, bottom = (np.asarray(box, dtype=np.float64) * scale + pad).tolist()
    rect = dlib.rectangle(int(round(left)), int(round(top)), int(round(right)) - 1, int(round(bottom)) - 1)
    shape = predictor(work, rect)
    parts = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    return (alignment_points(parts) - pad) / scale


# -- per-dataset geometry (cached) ------------------------------------------------------
#: Columns of the cached geometry array (one row per image).
GEOMETRY_COLUMNS = (
    "found", "score", "left", "top", "right", "bottom",
    "eye_left_x", "eye_left_y", "eye_right_x", "eye_right_y", "nose_x", "nose_y", "height", "width", "n_faces",
)


@dataclass
class FaceGeometry:
    """Per-image face boxes and alignment points of a dataset, fallbacks applied.

    ``found``: bool (N,); ``boxes``: float64 (N, 4) left, top, right, bottom in each
    image's pixels; ``points``: float64 (N, 3, 2) eye-left, eye-right, nose base (NaN
    when no landmark model was used); ``not_found``: the sample ids without a face;
    ``n_faces``: int64 (N,) faces the detector found in each image; ``several``: the
    sample ids with more than one; ``rule``: the :data:`SEVERAL_FACES` rule that chose
    the face used in those.
    """

    found: np.ndarray
    boxes: np.ndarray
    points: np.ndarray
    not_found: list[str]
    landmarks: str | None
    landmarks_sha256: str | None
    n_faces: np.ndarray | None = None
    several: list[str] = field(default_factory=list)
    rule: str = "largest"


def _detect_rows(dataset, start: int, stop: int, rule: str = "largest") -> np.ndarray:
    """Geometry rows (:data:`GEOMETRY_COLUMNS`, landmarks NaN) of images ``start:stop``,
    the face chosen by ``rule`` where several are found."""
    rows = np.full((stop - start, len(GEOMETRY_COLUMNS)), np.nan)
    for row, i in zip(rows, range(start, stop)):
        gray = to_gray_uint8(dataset.read_image(i))
        found = detect_faces(gray, rule)
        row[12:14] = gray.shape
        if found is None:
            row[0], row[14] = 0.0, 0.0
            row[2:6] = (0.0, 0.0, gray.shape[1], gray.shape[0])
        else:
            row[0], row[1], row[2:6], row[14] = 1.0, found[1], found[0], found[2]
    return rows


def _landmark_rows(dataset, rows: np.ndarray, start: int, landmarks: str) -> np.ndarray:
    """``rows`` (images ``start:start + len(rows)``) with their alignment points filled."""
    predictor, _ = shape_predictor(landmarks)
    rows = np.array(rows, dtype=np.float64)
    for row, i in zip(rows, range(start, start + len(rows))):
        gray = to_gray_uint8(dataset.read_image(i))
        row[6:12] = landmarks_in(gray, row[2:6], predictor).ravel()
    return rows


#: Images per chunk handed to one worker process by :func:`_in_chunks` (a chunk costs
#: seconds, so the pickling of the dataset that goes with it is small beside it).
FACE_CHUNK = 2000


def _in_chunks(n: int, jobs: int, work, progress=None) -> np.ndarray:
    """``work(start, stop)`` over contiguous chunks of ``range(n)``, in ``jobs`` processes
    when ``jobs`` > 1 and there are at least 100 images (at least 50 per chunk, at most
    :data:`FACE_CHUNK`, a multiple of ``jobs`` chunks so no round leaves processes idle);
    rows in order."""
    n_chunks = 1
    if jobs > 1:
        needed = math.ceil(n / FACE_CHUNK)  # chunks of at most FACE_CHUNK images …
        n_chunks = max(1, min(n // 50, jobs * math.ceil(needed / jobs)))  # … a multiple of jobs
    bounds = np.linspace(0, n, n_chunks + 1).astype(int)
    ranges = [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    if len(ranges) == 1:
        rows = work(*ranges[0])
        if progress is not None:
            progress(len(rows))
        return rows
    from joblib import Parallel, delayed

    parts = []
    for rows in Parallel(n_jobs=jobs, return_as="generator")(delayed(work)(a, b) for a, b in ranges):
        parts.append(rows)
        if progress is not None:
            progress(len(rows))
    return np.concatenate(parts)


def choice_rule(rule: str) -> str:
    """The rule that picks the face in the images a run keeps: ``drop`` keeps no image
    with several faces, so it chooses (and shares its cached detections) like ``largest``."""
    return "largest" if check_rule(rule) == "drop" else rule


def _detection_key(dataset, rule: str) -> dict[str, Any]:
    """The cache key of the detection rows (landmarks NaN) of ``dataset`` under ``rule``."""
    return {"kind": "faces", "dataset": dataset.fingerprint, **detector_key(), "several_faces": choice_rule(rule)}


def _raw_geometry(dataset, cache, landmarks: str | None, jobs: int = 1, progress=None,
                  rule: str = "largest") -> np.ndarray:
    from functools import partial

    from .cache import ArrayCache

    cache = cache if cache is not None else ArrayCache(None)
    rule = choice_rule(rule)
    key = _detection_key(dataset, rule)
    if landmarks is None:
        step = None if progress is None else partial(progress, "face detection")
        return np.asarray(cache.get_or_compute(
            key, lambda: _in_chunks(len(dataset), jobs, partial(_detect_rows, dataset, rule=rule), step)))

    _, sha = shape_predictor(landmarks)  # fails here, with its reason, before any work
    key.update(landmarks=landmarks, landmarks_sha256=sha)

    def predict_all() -> np.ndarray:
        rows = np.asarray(_raw_geometry(dataset, cache, None, jobs, progress, rule))

        def work(start: int, stop: int) -> np.ndarray:
            return _landmark_rows(dataset, rows[start:stop], start, landmarks)

        return _in_chunks(len(dataset), jobs, work, None if progress is None else partial(progress, "landmarks"))

    return np.asarray(cache.get_or_compute(key, predict_all))


def face_geometry(dataset, cache=None, landmarks: str | None = None, jobs: int = 1, progress=None,
                  rule: str = "largest") -> FaceGeometry:
    """Face boxes (and, with a ``landmarks`` model, alignment points) of every image of
    ``dataset``, computed once (in ``jobs`` processes) and cached in ``cache`` (an
    :class:`~fer_bench.cache.ArrayCache`), with :data:`FALLBACK` applied to the images
    without a face; ``rule`` (:data:`SEVERAL_FACES`) chooses the face where several are
    found, and the number found per image is kept (``n_faces``, ``several``).
    ``progress(step, n)`` is called as ``n`` more images are done, with ``step``
    "face detection" or "landmarks". Raises :class:`~fer_bench.errors.FerBenchError`
    for an unknown rule, :class:`FaceModelError` when a model cannot be used."""
    rows = _raw_geometry(dataset, cache, landmarks, jobs, progress, rule)
    found = rows[:, 0] > 0.5
    sizes = rows[:, [13, 12]]  # (width, height)
    boxes = rows[:, 2:6].copy()
    points = rows[:, 6:12].reshape(-1, 3, 2).copy()
    if found.any() and not found.all():
        rel_box = np.median(boxes[found] / np.tile(sizes[found], 2), axis=0)
        boxes[~found] = rel_box * np.tile(sizes[~found], 2)
        if landmarks is not None:
            rel_points = np.median(points[found] / sizes[found][:, None, :], axis=0)
            points[~found] = rel_points[None] * sizes[~found][:, None, :]
    sample_ids = dataset.samples["sample_id"]
    not_found = [str(sample_ids.iloc[i]) for i in np.flatnonzero(~found)]
    n_faces = rows[:, 14].astype(np.int64)
    several = [str(sample_ids.iloc[i]) for i in np.flatnonzero(n_faces > 1)]
    sha = None
    if landmarks is not None:
        from . import weights

        sha = weights.MODEL_FILES[landmarks].sha256
    return FaceGeometry(found, boxes, points, not_found, landmarks, sha, n_faces, several, rule)


# -- applying it to one image -----------------------------------------------------------
def crop_region(box: np.ndarray, height: int, width: int, margin: float | None = None) -> tuple[float, ...]:
    """(centre x, centre y, region width, region height) in source pixels: the box made
    square (its longer side), enlarged by ``margin`` of its side on every side; for a
    non-square output, a rectangle of the output's aspect ratio and the same area (as
    :class:`Template` does), centred on the box."""
    margin = CROP_MARGIN if margin is None else margin
    left, top, right, bottom = (float(v) for v in box)
    side = max(right - left, bottom - top) * (1 + 2 * margin)
    stretch = math.sqrt(width / height)
    return (left + right) / 2, (top + bottom) / 2, side * stretch, side / stretch


def cut_region(image: np.ndarray, cx: float, cy: float, w: float, h: float) -> np.ndarray:
    """The pixels of a region (may extend past the frame: the border pixels repeat)."""
    x0, y0 = int(round(cx - w / 2)), int(round(cy - h / 2))
    x1, y1 = x0 + max(1, int(round(w))), y0 + max(1, int(round(h)))
    H, W = image.shape[:2]
    rows = np.clip(np.arange(y0, y1), 0, H - 1)
    cols = np.clip(np.arange(x0, x1), 0, W - 1)
    return image[rows[:, None], cols[None, :]]


def similarity(points: np.ndarray, height: int, width: int, template: Template | None = None):
    """The least-squares similarity transform (skimage) from an image's 3 alignment
    points onto the template's positions in a height×width output."""
    from skimage.transform import SimilarityTransform

    src = np.asarray(points, dtype=np.float64)
    dst = (template or TEMPLATE).to_pixels(height, width)
    if hasattr(SimilarityTransform, "from_estimate"):
        transform = SimilarityTransform.from_estimate(src, dst)
        if not transform:
            raise FaceModelError(f"no similarity transform maps the landmarks {src.tolist()} onto the template")
        return transform
    transform = SimilarityTransform()  # pragma: no cover - scikit-image < 0.26
    if not transform.estimate(src, dst):
        raise FaceModelError(f"no similarity transform maps the landmarks {src.tolist()} onto the template")
    return transform


def align_image(image: np.ndarray, points: np.ndarray, height: int, width: int, template: Template | None = None) -> np.ndarray:
    """``image`` (uint8, H×W or H×W×C) warped so that its alignment points land on the
    template, as uint8 at the source's resolution (about ``height``×``width`` times the
    source scale when that is larger, so a later antialiased resize loses nothing).

    Bilinear interpolation; pixels from outside the frame repeat the border.
    """
    from skimage.transform import SimilarityTransform, warp

    transform = similarity(points, height, width, template)
    scale = float(transform.scale)
    factor = 1.0 / scale if scale < 1 else 1.0  # warp at the source resolution, then resize
    out_h, out_w = max(1, int(round(height * factor))), max(1, int(round(width * factor)))
    if factor != 1.0:
        transform = SimilarityTransform(matrix=np.diag([factor, factor, 1.0]) @ transform.params)
    warped = warp(image, transform.inverse, output_shape=(out_h, out_w), order=1, mode="edge", preserve_range=True)
    return np.clip(np.rint(warped), 0, 255).astype(np.uint8)


def apply_face(image: np.ndarray, face: str, box: np.ndarray | None, points: np.ndarray | None,
               height: int, width: int, template: Template | None = None, margin: float | None = None) -> np.ndarray:
    """One decoded uint8 image cut to its face (``crop``) or aligned (``align``), before
    colour conversion and the final resize to height×width; ``none`` returns it as is."""
    if face == "none":
        return image
    if face == "crop":
        return cut_region(image, *crop_region(box, height, width, margin))
    if face == "align":
        return align_image(image, points, height, width, template)
    raise FaceModelError(f"unknown face preprocessing {face!r}; use one of {', '.join(FACE_MODES)}")


def face_key(face: str, landmarks: str = "shape_predictor_5", several_faces: str = "largest") -> dict[str, Any]:
    """What identifies a face preprocessing's output (part of the image cache key), the
    rule for images with several faces (:data:`SEVERAL_FACES`) included."""
    if face == "none":
        return {"face": "none"}
    key: dict[str, Any] = {"face": face, **detector_key(), "several_faces": check_rule(several_faces)}
    if face == "crop":
        key["margin"] = CROP_MARGIN
    else:
        from . import weights

        key.update(landmarks=landmarks, landmarks_sha256=weights.MODEL_FILES[landmarks].sha256,
                   template=TEMPLATE.key())
    return key


def face_report(dataset, face: str, cache=None, landmarks: str = "shape_predictor_5", jobs: int = 1,
                several_faces: str = "largest") -> dict[str, Any]:
    """What a run records about its face preprocessing on ``dataset``: mode, detector,
    landmark model and template, counts, the sample ids without a detected face and the
    fallback they followed, the sample ids with several faces (``several_faces``) and the
    rule that chose the face in them (``several_faces_rule``, with ``several_faces_text``
    saying it in words); cached geometry: cheap after :func:`face_geometry`."""
    if face == "none":
        return {"face": "none", "images": len(dataset)}
    geometry = face_geometry(dataset, cache, landmarks if face == "align" else None, jobs=jobs, rule=several_faces)
    report: dict[str, Any] = {
        **face_key(face, landmarks, several_faces),
        "images": len(dataset),
        "faces_found": int(geometry.found.sum()),
        "not_found": geometry.not_found,
        "fallback": FALLBACK,
        "several_faces": geometry.several,
        "several_faces_rule": several_faces,
        "several_faces_text": SEVERAL_FACES_TEXT[several_faces],
    }
    return report


def several_faces_line(several: list[str], images: int, rule: str, where: str = "") -> str:
    """The one line a run says about its images with several faces (``several``: their
    sample ids, ``images``: how many the dataset has), e.g. ``22 of 67 images with several
    faces (e.g. angry/KM.AN1.17.png, …): the largest face was used (…); --several-faces
    central or drop to choose another rule``."""
    shown = ", ".join(several[:3]) + (", …" if len(several) > 3 else "")
    others = " or ".join(r for r in SEVERAL_FACES if r != rule)
    return (f"{where}{len(several)} of {images} images with several faces (e.g. {shown}): {SEVERAL_FACES_TEXT[rule]}; "
            f"--several-faces {others} to choose another rule (all listed in run.json)")


def drop_several_faces(dataset, cache=None, jobs: int = 1, progress=None):
    """``dataset`` without its images in which the detector finds several faces
    (``--several-faces drop``), and the sample ids left out.

    Detection runs on the whole dataset (cached, shared with ``largest`` runs). The
    reduced dataset reads the same files (indices mapped), keeps every record of the
    original, counts the images left out in ``filtered`` (so the run's output and
    ``run.json`` say so) and gets its own fingerprint, derived from the original's and
    the ids left out: splits, caches and the results directory's identity all see the
    reduced set. Returns ``(dataset, [])`` unchanged when no image has several faces.
    Raises :class:`DatasetError` when every image has several faces.
    """
    import hashlib
    from dataclasses import replace

    from .errors import DatasetError

    geometry = face_geometry(dataset, cache, None, jobs=jobs, progress=progress)
    several = geometry.n_faces > 1
    if not several.any():
        return dataset, []
    dropped = list(geometry.several)
    if several.all():
        raise DatasetError(f"dataset {dataset.spec!r}: every one of its {len(dataset)} images shows several faces; "
                           "--several-faces drop would leave nothing: use --several-faces largest or central")
    keep = np.flatnonzero(~several)
    original = dataset
    scan = original._scanned()
    digest = hashlib.sha256(f"fer-bench-several-faces-dropped\n{original.fingerprint}\n".encode())
    digest.update("\n".join(dropped).encode())
    shown = ", ".join(dropped[:3]) + (", …" if len(dropped) > 3 else "")
    reason = f"several faces were found in them (--several-faces drop), e.g. {shown}; all named in run.json"
    reduced = replace(
        original,
        samples=original.samples.iloc[keep].reset_index(drop=True),
        read_bytes=lambda i: original.read_bytes(int(keep[i])),
        decode=None if original._decodes_files else (lambda data, i: original.decode(data, int(keep[i]))),
        filtered={**original.filtered, reason: len(dropped)},
        _scan=[scan[i] for i in keep],
        _fingerprint=digest.hexdigest(),
    )
    if cache is not None:  # the kept images' detections are already known: not detected again
        rows = np.asarray(_raw_geometry(original, cache, None, jobs, rule="drop"))[keep]
        cache.get_or_compute(_detection_key(reduced, "drop"), lambda: rows)
    return reduced, dropped
