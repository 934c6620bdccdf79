"""Shared preprocessing: decode, face preprocessing, colour, resize, and its cache.

Every method asks for an :class:`~fer_bench.registry.ImageSpec` (size, colour and face
preprocessing: ``none``, ``crop`` or ``align``, see :mod:`fer_bench.faces`); the result
is cached per (dataset fingerprint, spec, face model and template), so methods that want
the same input share one stack. A run may override every method's face preprocessing at
once (:func:`effective_spec`, ``--face``).

Order of operations per image: face crop or alignment on the decoded uint8 image (face
detection and landmarks come from the per-dataset cache of :func:`fer_bench.faces.face_geometry`),
then colour conversion (ITU-R 601 luma for ``gray``, gray replicated for ``rgb``), then
PIL's antialiased bicubic resize to ``size``, then float32 in [0, 1].

(An earlier version offered a ``face_crop`` flag backed by scikit-image's LBP cascade;
it is replaced by ``ImageSpec.face``: dlib's HOG detector finds every JAFFE face at its
native scale, comes with landmarks for alignment, and one detector keeps "crop" a single,
recorded meaning.)
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from .cache import ArrayCache
from .datasets.base import Dataset
from .imagespec import ImageSpec, with_face

log = logging.getLogger(__name__)
PREPROCESS_VERSION = "2"


def effective_spec(method, face: str | None = None, several_faces: str | None = None) -> ImageSpec:
    """The spec a run gives ``method``: its own :meth:`~fer_bench.registry.Method.input_spec`,
    with the face preprocessing replaced by ``face`` when the run overrides it, and the
    rule for images with several faces by ``several_faces`` (``--several-faces``) when given."""
    spec = with_face(method.input_spec(), face)
    return spec if several_faces is None else replace(spec, several_faces=several_faces)


def prepare_image(
    image: np.ndarray, spec: ImageSpec, box: np.ndarray | None = None, points: np.ndarray | None = None
) -> np.ndarray:
    """One decoded uint8 image (H×W or H×W×3) to ``spec``: float32 in [0, 1].

    ``box`` (left, top, right, bottom) is the face box ``crop`` needs and ``points`` the
    3×2 alignment points ``align`` needs (from :func:`fer_bench.faces.face_geometry`).
    """
    from PIL import Image

    from .faces import apply_face

    height, width = spec.size
    if spec.face != "none":
        if (spec.face == "crop" and box is None) or (spec.face == "align" and points is None):
            raise ValueError(f"face={spec.face} needs the face {'box' if spec.face == 'crop' else 'landmarks'}")
        image = apply_face(image, spec.face, box, points, height, width)
    if spec.color == "gray" and image.ndim == 3:
        image = np.asarray(Image.fromarray(np.ascontiguousarray(image[..., :3])).convert("L"))
    elif spec.color == "rgb" and image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.shape[:2] != (height, width):
        # PIL's antialiased bicubic resize: as good as skimage's and ~10x faster.
        image = np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize((width, height), Image.Resampling.BICUBIC))
    return image.astype(np.float32) / 255.0


def image_key(dataset: Dataset, spec: ImageSpec) -> dict:
    """The cache key of a dataset's image stack under ``spec``."""
    from .faces import face_key

    return {
        "kind": "images",
        "dataset": dataset.fingerprint,
        "size": list(spec.size),
        "color": spec.color,
        **face_key(spec.face, spec.landmarks, spec.several_faces),
        "version": PREPROCESS_VERSION,
    }


_WARNED_NO_FACE: set[tuple] = set()


def reported_by_caller(dataset: Dataset, spec: ImageSpec) -> None:
    """Say that the caller reports ``dataset``'s images without a face under ``spec``
    itself (the runner's fuller line, which also names the fallback): no log warning
    for them from :func:`face_geometry_for`, which would say the same thing twice."""
    _WARNED_NO_FACE.add((dataset.fingerprint, spec.face, spec.landmarks, spec.several_faces))


def face_geometry_for(dataset: Dataset, spec: ImageSpec, cache: ArrayCache, jobs: int = 1, progress=None):
    """The per-dataset face geometry ``spec`` needs (None for ``face="none"``), computed
    in ``jobs`` processes and cached; warns, naming a few, about images without a face."""
    from .faces import face_geometry

    if spec.face == "none":
        return None
    from .faces import several_faces_line

    geometry = face_geometry(dataset, cache, spec.landmarks if spec.face == "align" else None, jobs=jobs,
                             progress=progress, rule=spec.several_faces)
    # Once per dataset and face model in a process: every method with this face
    # preprocessing asks again, and the run records and reports the full list itself.
    warned = (dataset.fingerprint, spec.face, spec.landmarks, spec.several_faces)
    if (geometry.not_found or geometry.several) and warned not in _WARNED_NO_FACE:
        _WARNED_NO_FACE.add(warned)
        if geometry.not_found:
            log.warning(
                "no face detected in %d of %d images (%s%s): fallback used",
                len(geometry.not_found), len(dataset), ", ".join(geometry.not_found[:5]),
                ", …" if len(geometry.not_found) > 5 else "",
            )
        if geometry.several:
            log.warning("%s", several_faces_line(geometry.several, len(dataset), spec.several_faces))
    return geometry


def prepare_range(dataset: Dataset, spec: ImageSpec, geometry, start: int, stop: int) -> np.ndarray:
    """Images ``start:stop`` of ``dataset`` prepared to ``spec`` (:func:`prepare_image`):
    float32 in [0, 1], (stop − start)×H×W (gray) or ×H×W×3 (rgb). ``geometry``: from
    :func:`face_geometry_for` (None for ``face="none"``)."""
    shape = (stop - start, *spec.size) + ((3,) if spec.color == "rgb" else ())
    out = np.empty(shape, dtype=np.float32)
    for j, i in enumerate(range(start, stop)):
        box = geometry.boxes[i] if geometry is not None else None
        points = geometry.points[i] if geometry is not None else None
        out[j] = prepare_image(dataset.read_image(i), spec, box, points)
    return out


def load_images(dataset: Dataset, spec: ImageSpec, cache: ArrayCache, progress=None, jobs: int = 1,
                face_progress=None) -> np.ndarray:
    """The whole dataset preprocessed to ``spec``, from the cache when possible.

    Returns a (read-only, memory-mapped when cached) float32 array N×H×W (gray) or
    N×H×W×3 (rgb). Face detection and landmarks are computed once per dataset (in
    ``jobs`` processes) and cached as well; :func:`fer_bench.faces.face_report` then names
    the images without a face. Methods that compute features of their own never need the
    whole stack: the engine prepares their images chunk by chunk
    (:func:`fer_bench.runner.method_features`); this stack is the input of methods that
    learn from the pixels (PCA, fine-tuning).
    """

    def fill(out: np.ndarray) -> None:
        geometry = face_geometry_for(dataset, spec, cache, jobs, face_progress)
        for start in range(0, len(dataset), 256):
            stop = min(len(dataset), start + 256)
            out[start:stop] = prepare_range(dataset, spec, geometry, start, stop)
            if progress is not None:
                progress(stop - start)

    shape = (len(dataset), *spec.size) + ((3,) if spec.color == "rgb" else ())
    # Written straight into the cache file: large datasets need not fit in memory.
    return cache.get_or_fill(image_key(dataset, spec), shape, np.float32, fill)
