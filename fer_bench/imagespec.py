"""How a method wants its images (:class:`ImageSpec`): the preprocessing layer's vocabulary.

Kept apart from :mod:`fer_bench.preprocess` (which reads datasets, so imports pandas) so that
the method plugin API (:mod:`fer_bench.registry`) and the listing commands can use it lightly.
Re-exported as ``fer_bench.ImageSpec``, ``fer_bench.preprocess.ImageSpec`` and, for plugins
written before it moved, ``fer_bench.registry.ImageSpec``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .errors import UnknownMethodError

#: The face preprocessings (see :mod:`fer_bench.faces`).
FACE_MODES = ("none", "crop", "align")


@dataclass(frozen=True)
class ImageSpec:
    """How a method wants its images: the shared, cached preprocessing step.

    ``size`` is (height, width) after resizing; ``color`` is ``"gray"`` (2-D float32 in
    [0, 1]) or ``"rgb"`` (H×W×3, grayscale replicated to three channels). ``face`` is the
    face preprocessing (:mod:`fer_bench.faces`): ``"none"`` (the whole frame),
    ``"crop"`` (dlib's detector box, squared, with a margin) or ``"align"`` (eye centres
    and nose base mapped onto a canonical template by a similarity transform);
    ``landmarks`` the landmark model ``align`` uses (``shape_predictor_5``, or the
    non-commercial ``shape_predictor_68``). The default, ``face="none"``, keeps a
    third-party method's input unchanged; fer-bench's own methods declare theirs.
    ``several_faces`` is the rule for images in which several faces are found
    (:data:`fer_bench.faces.SEVERAL_FACES`: ``largest``, ``central`` or ``drop``); a
    run sets it for every method (``--several-faces``); it only matters to ``crop`` and
    ``align``.
    """

    size: tuple[int, int] = (64, 64)
    color: str = "gray"
    face: str = "none"
    landmarks: str = "shape_predictor_5"
    several_faces: str = "largest"

    def __post_init__(self):
        if self.color not in ("gray", "rgb"):
            raise ValueError(f"ImageSpec.color must be 'gray' or 'rgb', not {self.color!r}")
        if self.face not in FACE_MODES:
            raise UnknownMethodError(f"face preprocessing {self.face!r} is unknown; use one of {', '.join(FACE_MODES)}")
        if self.landmarks not in ("shape_predictor_5", "shape_predictor_68"):
            raise UnknownMethodError(
                f"landmark model {self.landmarks!r} is unknown; use shape_predictor_5 or shape_predictor_68"
            )
        from .faces import check_rule

        check_rule(self.several_faces)
        object.__setattr__(self, "size", (int(self.size[0]), int(self.size[1])))

    def key(self) -> list:
        """What identifies this preprocessing in a feature cache key (the landmark model
        only matters to ``align``; the rule for several faces to ``crop`` and ``align``)."""
        return ([list(self.size), self.color, self.face] + ([self.landmarks] if self.face == "align" else [])
                + ([f"several_faces={self.several_faces}"] if self.face != "none" else []))

    def describe(self) -> str:
        """``"crop"``, ``"align (shape_predictor_5)"``, ``"none"``: for tables and logs."""
        return f"align ({self.landmarks})" if self.face == "align" else self.face


def with_face(spec: ImageSpec, face: str | None) -> ImageSpec:
    """``spec`` with its face preprocessing replaced by ``face`` (``None`` keeps the
    method's own): what a run-wide override (``--face``) does to every method.

    ``face`` is ``none``, ``crop``, ``align`` or ``align:shape_predictor_68``, or
    ``method`` (each method's own, also on datasets of registered face crops, which
    otherwise default to ``none``); raises
    :class:`~fer_bench.errors.UnknownMethodError` for anything else.
    """
    if face is None or str(face).strip() == "method":
        return spec
    mode, _, landmarks = str(face).strip().partition(":")
    if mode not in FACE_MODES or (landmarks and mode != "align"):
        raise UnknownMethodError(
            f"--face {face!r}: use none, crop, align or align:shape_predictor_68 (the face preprocessing for every "
            "method), or method (each method's own)"
        )
    return replace(spec, face=mode, landmarks=(landmarks or spec.landmarks) if mode == "align" else spec.landmarks)
