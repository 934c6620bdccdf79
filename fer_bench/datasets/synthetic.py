"""Synthetic grayscale face images: the benchmark's built-in default dataset.

**These are not photographs.** The images are drawn procedurally so that the
benchmark runs out of the box, deterministically, without downloading or licensing
a face database. The layout mirrors the seed paper's dataset: 20 people x 7
expressions x 5 images = 700 grayscale images of 256 x 256 pixels.

What is modelled
----------------
*Identity* (:class:`PersonGeometry`, drawn once per person by :func:`sample_person`):
face width/height and shape (a super-ellipse with a tapering jaw), hair tone,
volume and hair line, ears, skin, brow, lip and iris tones, eye position, spacing,
size and openness, brow gap, thickness, arch, length and tilt, nose length and
width, mouth position, width and lip thickness, cheek fullness, skin creases, and
*resting-expression offsets* (a person whose mouth corners hang a little, whose
brows sit high, whose eyes are narrow ...). People therefore differ at least as
much as expressions do in raw pixels.

*Expression* (Ekman's prototypes written as FACS action units, each one a shift of
a small set of facial parameters scaled by an intensity drawn uniformly from
0.4-1.0, plus per-image jitter):

- anger: brows lowered and drawn together (AU4) with glabellar lines, upper lids
  raised and lower lids tightened (AU5, AU7), lips pressed and narrowed (AU23/24);
- disgust: nose wrinkle (AU9), upper lip raised (AU10) with deep nasolabial folds,
  brows lowered slightly, lower lids pushed up;
- fear: brows raised and drawn together (AU1+2+4) with short central forehead lines,
  upper lids raised wide (AU5), lips stretched horizontally (AU20), mouth slightly
  open;
- happiness: mouth corners up (AU12), often with teeth showing, cheeks raised
  narrowing the eyes (AU6) with cheek highlights and nasolabial folds;
- neutral: the person's resting face;
- sadness: inner brows raised (AU1) giving oblique brows, drooping upper lids,
  mouth corners down (AU15), chin raised (AU17);
- surprise: brows raised high (AU1+2) with forehead lines, eyes wide (AU5), jaw
  dropped with the mouth open and round (AU26/27).

*Image conditions* (:class:`Pose`, drawn per image by :func:`sample_pose`):
in-plane rotation (a few degrees), translation, scale, background tone, global
brightness, a linear lighting gradient of random direction and strength, slight
Gaussian blur and additive Gaussian noise.

Drawing
-------
A face is drawn in a canonical, upright frame on a float image: every part (face
super-ellipse, hair, ears, neck, eyes with white, iris, pupil and lids, brows as
thick tapered curves whose inner and outer ends move, nose, wrinkle lines, lips as
upper/lower curves around an optional dark opening with teeth) is painted from a
signed-distance field evaluated on a coordinate grid restricted to the part's
bounding box, with one-pixel anti-aliasing. The pose is then applied by one
bilinear affine warp, followed by lighting, blur and noise. Everything is
vectorised numpy/scipy; there are no per-pixel Python loops (a few milliseconds
per 256 x 256 image; ``benchmarks/calibrate_synthetic.py`` prints the time).

Determinism
-----------
Person ``i`` is drawn from ``default_rng([seed, i, 0])`` and image (i, expression
e, repeat r) from ``default_rng([seed, i, e + 1, r])``, so the same seed always
gives the same images, and enlarging ``n_subjects`` or ``images_per_expression``
leaves the images already generated unchanged.

The bytes are the same on every machine with the same numpy and scipy versions,
whatever the CPU. numpy's exp, log, power, sin, cos, ... run SIMD kernels chosen at
run time from the CPU's features (baseline, AVX2/FMA3, AVX-512), which differ in the
last bits, and its matrix products run OpenBLAS kernels chosen the same way; such a
last-bit difference flips a few rounded pixels in a 700-image set and so changes the
dataset's fingerprint. The generator therefore uses only operations that IEEE 754
rounds the same everywhere (+, -, *, /, sqrt, comparisons, and the exact frexp,
ldexp, rint), computes its few transcendental values with its own polynomials
(:func:`_exp`, :func:`_log`, :func:`_pow`, :func:`_cos_sin`), builds the blur kernel
itself (:func:`_gaussian_blur`; scipy's uses ``numpy.exp``) and writes its 2 x 2
products out. scipy.ndimage's compiled filters and warps have no run-time dispatch.
numpy's random streams are the same on every platform (its compatibility policy); the
one libm call left on the path is in the normal sampler's rare rejection and tail
steps (the C library's exp and log1p), where a last-bit difference would matter only
on an exact tie or a tail draw of the noise. ``tests/test_synthetic.py``
checks stored image hashes, and the same bytes under ``NPY_DISABLE_CPU_FEATURES`` and
``OPENBLAS_CORETYPE`` settings that make numpy and OpenBLAS use other kernels.

Difficulty
----------
The nuisance ranges were calibrated (see ``benchmarks/calibrate_synthetic.py``)
so that a PCA + RBF-SVM baseline on 64 x 64 images reaches roughly 60-85 %
accuracy in 10-fold image-level cross-validation, less when the test subjects are
unseen, chance with shuffled labels, and chance from the image mean and standard
deviation alone: the benchmark can rank methods without saturating.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..labels import CANONICAL_LABELS

__all__ = [
    "EXPRESSIONS",
    "PersonGeometry",
    "Pose",
    "make_synthetic",
    "render_face",
    "sample_person",
    "sample_pose",
]

#: The seven classes, in the seed paper's order.
EXPRESSIONS: tuple[str, ...] = CANONICAL_LABELS[:7]

#: Range of the expression intensity drawn per image.
INTENSITY_RANGE: tuple[float, float] = (0.4, 1.0)

# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonGeometry:
    """One person's identity: face geometry, tones and resting-expression offsets.

    Lengths are in *face units*: the canonical frame has its origin at the face
    centre, x to the right, y downwards, and one unit is 0.28 of the image size
    (the face half-width is about one unit). Tones are in [0, 1] (0 = black).
    The ``rest_*`` fields are the person's idiosyncratic resting expression; they
    are added to every expression's parameters, neutral included.
    """

    face_w: float  # half-width of the face
    face_h: float  # half-height of the upper face (crown to centre)
    chin_h: float  # half-height of the lower face (centre to chin)
    face_shape: float  # super-ellipse exponent (2 = ellipse, larger = squarer)
    jaw_taper: float  # narrowing of the lower face towards the chin
    skin: float
    hair: float
    hair_volume: float  # how far the hair extends beyond the face
    hairline: float  # y of the hair line (negative, above the centre)
    hairline_curve: float  # curvature of the hair line
    ear_size: float
    eye_y: float
    eye_sep: float  # half-distance between eye centres
    eye_w: float  # eye half-width
    eye_open: float  # upper-lid height of the eye opening
    lower_lid: float  # lower-lid depth as a fraction of ``eye_open``
    iris_r: float
    iris_tone: float
    brow_gap: float  # vertical gap between eye centre and brow
    brow_thick: float
    brow_arch: float
    brow_len: float  # brow length as a multiple of the eye width
    brow_tilt: float  # outer end lower (+) or higher (-) than the inner end
    brow_tone: float
    nose_len: float  # eye line to nostrils
    nose_w: float  # half-width of the nostrils
    mouth_gap: float  # nostrils to mouth line
    mouth_w: float  # mouth half-width
    lip_upper: float
    lip_lower: float
    lip_tone: float
    cheek: float  # fullness of the cheeks (strength of the cheek shading)
    crease: float  # baseline strength of skin creases (an age-like cue)
    rest_brow_in: float  # resting offset of the inner brow (negative = up)
    rest_brow_out: float
    rest_mouth_curve: float  # resting offset of the mouth corners (negative = up)
    rest_mouth_w: float  # resting relative change of mouth width
    rest_mouth_open: float
    rest_lid: float  # resting relative change of the upper-lid opening


@dataclass(frozen=True)
class Pose:
    """Per-image viewing conditions.

    ``rotation`` is in degrees (in-plane), ``tx``/``ty`` are translations as
    fractions of the image size, ``scale`` is relative, ``light_angle`` (radians)
    and ``light_strength`` define a linear lighting gradient multiplying the image
    (1 +/- strength at the borders), ``brightness`` is a global gain,
    ``background`` the background tone, ``noise_sigma`` the standard deviation of
    additive Gaussian noise (on the [0, 1] scale) and ``blur_sigma`` a Gaussian
    blur in pixels at 256 x 256 (scaled with the image size).
    """

    rotation: float
    tx: float
    ty: float
    scale: float
    light_angle: float
    light_strength: float
    brightness: float
    background: float
    noise_sigma: float
    blur_sigma: float


def sample_person(rng: np.random.Generator) -> PersonGeometry:
    """Draw one person's identity (geometry, tones, resting offsets) from ``rng``."""
    u = rng.uniform
    n = rng.normal
    skin = u(0.42, 0.82)
    # Hair contrasts with the skin in most people but not all.
    hair = float(np.clip(skin + rng.choice([-1.0, 1.0], p=[0.8, 0.2]) * u(0.15, 0.45), 0.04, 0.95))
    face_h = u(1.0, 1.2)
    return PersonGeometry(
        face_w=u(0.82, 1.04),
        face_h=face_h,
        chin_h=u(1.15, 1.42),
        face_shape=u(1.9, 2.8),
        jaw_taper=u(0.0, 0.3),
        skin=skin,
        hair=hair,
        hair_volume=u(1.03, 1.2),
        hairline=-face_h * u(0.4, 0.72),
        hairline_curve=u(-0.1, 0.35),
        ear_size=u(0.13, 0.2),
        eye_y=u(-0.26, -0.08),
        eye_sep=u(0.32, 0.44),
        eye_w=u(0.13, 0.19),
        eye_open=u(0.05, 0.08),
        lower_lid=u(0.45, 0.75),
        iris_r=u(0.048, 0.064),
        iris_tone=u(0.1, 0.45),
        brow_gap=u(0.13, 0.23),
        brow_thick=u(0.018, 0.042),
        brow_arch=u(0.0, 0.06),
        brow_len=u(1.9, 2.5),
        brow_tilt=u(-0.03, 0.04),
        brow_tone=float(np.clip(min(hair, skin) - u(0.0, 0.25), 0.03, 0.7)),
        nose_len=u(0.36, 0.54),
        nose_w=u(0.07, 0.11),
        mouth_gap=u(0.2, 0.32),
        mouth_w=u(0.2, 0.31),
        lip_upper=u(0.022, 0.05),
        lip_lower=u(0.03, 0.065),
        lip_tone=float(skin * u(0.6, 0.88)),
        cheek=u(0.0, 1.0),
        crease=u(0.0, 0.6),
        rest_brow_in=n(0.0, 0.018),
        rest_brow_out=n(0.0, 0.015),
        rest_mouth_curve=n(0.0, 0.016),
        rest_mouth_w=n(0.0, 0.05),
        rest_mouth_open=max(0.0, n(-0.005, 0.01)),
        rest_lid=n(0.0, 0.12),
    )


#: Uniform ranges of the per-image viewing conditions (see :class:`Pose`).
POSE_RANGES: dict[str, tuple[float, float]] = {
    # Faces are roughly aligned, as in posed databases (JAFFE, CK+): a few degrees
    # of rotation and a few pixels of shift. Misalignment is the strongest
    # difficulty knob for pixel-based methods.
    "rotation": (-2.5, 2.5),
    "tx": (-0.01, 0.01),
    "ty": (-0.01, 0.01),
    "scale": (0.975, 1.025),
    "light_angle": (0.0, 2.0 * math.pi),
    "light_strength": (0.0, 0.35),
    "brightness": (0.8, 1.15),
    "background": (0.12, 0.9),
    "noise_sigma": (0.015, 0.05),
    "blur_sigma": (0.4, 1.6),
}


def sample_pose(rng: np.random.Generator) -> Pose:
    """Draw one image's viewing conditions (pose, lighting, noise, blur) from ``rng``.

    Each field is uniform over its range in :data:`POSE_RANGES`, drawn in the
    order of the :class:`Pose` fields.
    """
    return Pose(**{k: float(rng.uniform(lo, hi)) for k, (lo, hi) in POSE_RANGES.items()})


# Expression prototypes at intensity 1, as shifts of the facial parameters (face
# units; y points down, so a negative ``brow_*`` raises the brow and a negative
# ``mouth_curve`` raises the mouth corners). Unlisted parameters are 0.
_PARAMS = (
    "brow_in",  # vertical shift of the inner brow end
    "brow_out",  # vertical shift of the outer brow end
    "brow_pull",  # inner ends drawn towards the midline
    "lid_up",  # relative change of the upper-lid opening
    "lid_low",  # lower lid raised (fraction of its depth)
    "mouth_curve",  # vertical shift of the mouth corners
    "mouth_w",  # relative change of mouth width
    "mouth_open",  # height of the mouth opening
    "lip_press",  # thinning of the lips (fraction)
    "lip_raise",  # upper lip raised
    "chin_raise",  # lower lip pushed up (AU17)
    "jaw",  # jaw drop (lengthens the lower face)
    "teeth",  # fraction of the opening showing teeth
    "nose_wrinkle",
    "nasolabial",
    "cheek_raise",
    "forehead",  # horizontal forehead lines (and their extent)
    "glabella",  # vertical lines between the brows
)

_PROTOTYPES: dict[str, dict[str, float]] = {
    "anger": {
        "brow_in": 0.065,
        "brow_out": 0.012,
        "brow_pull": 0.045,
        "lid_up": 0.12,
        "lid_low": 0.35,
        "mouth_w": -0.14,
        "lip_press": 0.6,
        "mouth_curve": 0.008,
        "glabella": 1.0,
        "nasolabial": 0.25,
    },
    "disgust": {
        "brow_in": 0.035,
        "brow_out": 0.018,
        "brow_pull": 0.02,
        "lid_low": 0.4,
        "lid_up": -0.15,
        "lip_raise": 0.035,
        "mouth_open": 0.012,
        "mouth_curve": 0.012,
        "nose_wrinkle": 1.0,
        "nasolabial": 0.9,
        "cheek_raise": 0.3,
        "glabella": 0.3,
    },
    "fear": {
        "brow_in": -0.07,
        "brow_out": -0.035,
        "brow_pull": 0.03,
        "lid_up": 0.55,
        "lid_low": -0.1,
        "mouth_w": 0.13,
        "mouth_open": 0.05,
        "mouth_curve": 0.012,
        "teeth": 0.45,
        "jaw": 0.02,
        "forehead": 0.55,
    },
    "happiness": {
        "mouth_curve": -0.075,
        "mouth_w": 0.16,
        "cheek_raise": 1.0,
        "lid_low": 0.5,
        "lid_up": -0.2,
        "nasolabial": 1.0,
        "brow_in": 0.01,
        "brow_out": 0.01,
    },
    "neutral": {},
    "sadness": {
        "brow_in": -0.06,
        "brow_out": 0.028,
        "brow_pull": 0.018,
        "lid_up": -0.35,
        "mouth_curve": 0.05,
        "mouth_w": -0.06,
        "chin_raise": 0.02,
        "glabella": 0.25,
        "forehead": 0.2,
    },
    "surprise": {
        "brow_in": -0.1,
        "brow_out": -0.1,
        "lid_up": 0.65,
        "lid_low": -0.1,
        "mouth_open": 0.17,
        "mouth_w": -0.32,
        "jaw": 0.12,
        "forehead": 1.0,
    },
}

#: Global gain on the prototype shifts above, calibrated together with
#: :data:`POSE_RANGES` (see the module docstring, "Difficulty").
EXPRESSION_GAIN = 1.6

_PROTOTYPES = {e: {k: v * EXPRESSION_GAIN for k, v in proto.items()} for e, proto in _PROTOTYPES.items()}

# Per-image jitter (standard deviation) of each parameter: no two images of one
# person and expression are the same.
_JITTER: dict[str, float] = {
    "brow_in": 0.01,
    "brow_out": 0.01,
    "brow_pull": 0.008,
    "lid_up": 0.08,
    "lid_low": 0.06,
    "mouth_curve": 0.01,
    "mouth_w": 0.04,
    "mouth_open": 0.006,
    "lip_press": 0.08,
    "lip_raise": 0.005,
    "chin_raise": 0.004,
    "jaw": 0.005,
    "teeth": 0.1,
    "nose_wrinkle": 0.08,
    "nasolabial": 0.1,
    "cheek_raise": 0.08,
    "forehead": 0.08,
    "glabella": 0.08,
}

_UNIT = 0.28  # face unit as a fraction of the image size
_CY = 0.52  # face centre row as a fraction of the image size


def _expression_params(
    person: PersonGeometry, expression: str, intensity: float, rng: np.random.Generator
) -> dict[str, float]:
    """The facial parameters of one image: prototype x intensity + resting offsets + jitter."""
    proto = _PROTOTYPES[expression]
    p = {k: proto.get(k, 0.0) * intensity for k in _PARAMS}
    jitter = rng.normal(0.0, 1.0, len(_PARAMS))
    for k, z in zip(_PARAMS, jitter):
        p[k] += _JITTER[k] * z
    if expression == "happiness":
        # Some smiles are closed, some show the teeth.
        op = rng.uniform(-0.03, 0.07) * intensity
        p["mouth_open"] += max(op, 0.0)
        p["teeth"] += 1.0
    p["brow_in"] += person.rest_brow_in
    p["brow_out"] += person.rest_brow_out
    p["mouth_curve"] += person.rest_mouth_curve
    p["mouth_w"] += person.rest_mouth_w
    p["mouth_open"] += person.rest_mouth_open
    p["lid_up"] += person.rest_lid
    for k in (
        "mouth_open",
        "nose_wrinkle",
        "nasolabial",
        "cheek_raise",
        "forehead",
        "glabella",
        "lip_raise",
        "chin_raise",
        "jaw",
        "lip_press",
        "teeth",
    ):
        p[k] = max(p[k], 0.0)
    p["teeth"] = min(p["teeth"], 1.0)
    p["lip_press"] = min(p["lip_press"], 0.8)
    p["lid_low"] = float(np.clip(p["lid_low"], -0.3, 0.8))
    p["lid_up"] = max(p["lid_up"], -0.7)
    return p


# ---------------------------------------------------------------------------
# Elementary functions with the same bits on every CPU
# ---------------------------------------------------------------------------
#
# numpy evaluates exp, log, power, sin, cos, tanh ... with SIMD kernels chosen at run time
# from the CPU's features (baseline, AVX2/FMA3, AVX-512 through Intel's SVML), and the
# variants round differently in the last bits; the C library behind ``math`` picks FMA
# variants of exp, log, pow, sin and cos at load time too, and numpy's matrix products go
# to OpenBLAS, whose kernels also depend on the CPU. So the generator evaluates its few
# transcendental values here, from operations IEEE 754 rounds correctly and identically on
# every machine (+, -, *, /, sqrt, and the exact frexp, ldexp and rint), and computes its
# 2 x 2 products by hand. The polynomials are accurate to about 1e-15 (relative), far below
# float32 resolution: the images look the same as with numpy's own functions.

#: ln 2 split as in fdlibm (e_exp.c): ``k * _LN2_HI`` is exact for |k| < 2**11.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_SQRT_HALF = 0.70710678118654752440
#: pi/2 split as in fdlibm (k_rem_pio2.c, pio2_1 and pio2_1t): ``k * _PIO2_HI`` is exact for |k| < 2**20.
_PIO2_HI = 1.57079632673412561417e00
_PIO2_LO = 6.07710050650619224932e-11
#: Taylor coefficients 1/n!, n = 12 ... 0 (Horner order): exp(r) on |r| <= ln(2)/2, truncation < 2e-16.
_EXP_COEF = tuple(1.0 / math.factorial(n) for n in range(12, -1, -1))
#: 1/(2n + 1), n = 8 ... 0: log(m) = 2 atanh(s) = 2 s sum z**n/(2n + 1), z = s**2 <= 0.0295, error < 1e-15.
_ATANH_COEF = tuple(1.0 / (2 * n + 1) for n in range(8, -1, -1))


def _exp(x) -> np.ndarray:
    """``e**x`` elementwise (float64 array), the same bits on every CPU.

    Range reduction ``x = k ln 2 + r`` with |r| <= ln(2)/2 (Cody & Waite, as in fdlibm's
    e_exp.c), a degree-12 Taylor polynomial for ``e**r`` and an exact ``ldexp``. Meant for
    moderate arguments (|x| < 700); relative error below 1e-15.
    """
    x = np.asarray(x, dtype=np.float64)
    k = np.rint(x * _INV_LN2)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = np.full_like(r, _EXP_COEF[0])
    for c in _EXP_COEF[1:]:
        p *= r
        p += c
    return np.ldexp(p, k.astype(np.int32))


def _log(x) -> np.ndarray:
    """Natural logarithm of ``x > 0`` elementwise (float64 array), the same bits on every CPU.

    ``x = m 2**e`` with m in [sqrt(1/2), sqrt(2)) (exact ``frexp``), then
    ``log m = 2 atanh(s)``, ``s = (m - 1)/(m + 1)``, by its series (as in fdlibm's e_log.c,
    with Taylor instead of minimax coefficients). Absolute error below 1e-15.
    """
    m, e = np.frexp(np.asarray(x, dtype=np.float64))
    low = m < _SQRT_HALF
    m = np.where(low, m + m, m)
    e = (e - low).astype(np.float64)
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    p = np.full_like(z, _ATANH_COEF[0])
    for c in _ATANH_COEF[1:]:
        p *= z
        p += c
    return e * _LN2_HI + (2.0 * s * p + e * _LN2_LO)


def _pow(x, exponent: float) -> np.ndarray:
    """``x**exponent`` for ``x >= 0`` and a scalar exponent, the same bits on every CPU.

    Exponents 2, 4, 0.5 and 0.25 are products and square roots; any other is
    ``exp(exponent log x)`` (with ``0**exponent = 0``). float32 in, float32 out; else float64.
    """
    x = np.asarray(x)
    dtype = np.float32 if x.dtype == np.float32 else np.float64
    if exponent == 2.0:
        return (x * x).astype(dtype, copy=False)
    if exponent == 4.0:
        x2 = x * x
        return (x2 * x2).astype(dtype, copy=False)
    if exponent == 0.5:
        return np.sqrt(x).astype(dtype, copy=False)
    if exponent == 0.25:
        return np.sqrt(np.sqrt(x)).astype(dtype, copy=False)
    x = x.astype(np.float64)
    positive = x > 0.0
    y = _exp(exponent * _log(np.where(positive, x, 1.0)))
    return np.where(positive, y, 0.0).astype(dtype, copy=False)


def _cos_sin(theta: float) -> tuple[float, float]:
    """``(cos theta, sin theta)`` of a Python float, the same bits on every machine.

    Reduction by multiples of pi/2 in two parts (fdlibm's pio2_1, pio2_1t), then Taylor
    series to degree 18 on |r| <= pi/4 (truncation below 1e-19) and the quadrant's signs.
    """
    k = round(theta / (math.pi / 2.0))
    r = (theta - k * _PIO2_HI) - k * _PIO2_LO
    z = r * r
    # sin r = r (1 - z/(2*3) (1 - z/(4*5) (1 - ...))), cos r = 1 - z/(1*2) (1 - z/(3*4) (1 - ...)).
    sin_r = 1.0
    cos_r = 1.0
    for n in range(9, 0, -1):
        sin_r = 1.0 - z / ((2 * n) * (2 * n + 1)) * sin_r
        cos_r = 1.0 - z / ((2 * n - 1) * (2 * n)) * cos_r
    sin_r *= r
    quadrant = k % 4
    if quadrant == 0:
        return cos_r, sin_r
    if quadrant == 1:
        return -sin_r, cos_r
    if quadrant == 2:
        return -cos_r, -sin_r
    return sin_r, -cos_r


def _gaussian_blur(img: np.ndarray, sigma: float, truncate: float = 3.0) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter(img, sigma, mode="nearest", truncate=truncate)``, CPU-independent.

    scipy builds the kernel with ``numpy.exp`` (CPU-dispatched); here the same sampled,
    normalised Gaussian (radius ``int(truncate * sigma + 0.5)``, as scipy) comes from
    :func:`_exp` and an exactly rounded sum (``math.fsum``), then one
    ``ndimage.correlate1d`` per axis (compiled C without run-time dispatch).
    """
    radius = int(truncate * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    weights = _exp((-0.5 / (sigma * sigma)) * (x * x))
    weights /= math.fsum(weights.tolist())
    for axis in range(img.ndim):
        img = ndimage.correlate1d(img, weights, axis=axis, mode="nearest")
    return img


# ---------------------------------------------------------------------------
# Drawing primitives
# ---------------------------------------------------------------------------


class _Canvas:
    """A float image in the canonical face frame, painted part by part.

    Parts are painted inside their bounding box (face units) only; ``alpha`` is the
    coverage in [0, 1] computed from a signed distance with one-pixel anti-aliasing.
    """

    def __init__(self, size: int, fill: float):
        self.size = size
        self.unit = _UNIT * size
        self.cx = (size - 1) / 2.0
        self.cy = _CY * size
        self.img = np.full((size, size), fill, dtype=np.float32)
        ar = np.arange(size, dtype=np.float32)
        self.xs = (ar - self.cx) / self.unit
        self.ys = (ar - self.cy) / self.unit
        self.px = 1.0 / self.unit  # one pixel in face units

    def window(self, x0: float, x1: float, y0: float, y1: float):
        """Slices and broadcastable (X, Y) coordinates of a face-unit box."""
        s = self.size
        c0 = max(0, int(math.floor(self.cx + x0 * self.unit)) - 1)
        c1 = min(s, int(math.ceil(self.cx + x1 * self.unit)) + 2)
        r0 = max(0, int(math.floor(self.cy + y0 * self.unit)) - 1)
        r1 = min(s, int(math.ceil(self.cy + y1 * self.unit)) + 2)
        if c1 <= c0 or r1 <= r0:
            return None
        return (slice(r0, r1), slice(c0, c1)), self.xs[None, c0:c1], self.ys[r0:r1, None]

    def cover(self, sd: np.ndarray) -> np.ndarray:
        """Coverage from a signed distance (face units, positive inside)."""
        return np.clip(0.5 + sd / self.px, 0.0, 1.0)

    def cover_super_ellipse(self, level: np.ndarray, shape: float, size) -> np.ndarray:
        """Coverage of a super-ellipse from its level ``|u|**shape + |v|**shape`` (1 on the outline).

        ``cover((1 - level**(1/shape)) * size)``, with ``size`` (face units; a scalar or an
        array broadcastable to ``level``) turning the radial distance into face units. The
        power is evaluated on a band around the anti-aliased rim only: inside it the coverage
        is 1, outside 0. The band is ``(1 - h)**n < level < (1 + h)**n`` with h half a pixel
        in radius units and n = ceil(shape) >= shape (integer powers: products only), which
        contains the rim ``(1 - h)**shape < level < (1 + h)**shape``.
        """
        half = 0.5 * self.px / np.asarray(size, dtype=np.float64)  # half a pixel, in radius units
        lo = np.maximum(1.0 - half, 0.0)
        hi = 1.0 + half
        lo_n, hi_n = lo, hi
        for _ in range(max(1, math.ceil(shape)) - 1):
            lo_n, hi_n = lo_n * lo, hi_n * hi
        lo, hi = (lo_n, hi_n) if shape >= 1.0 else (np.zeros_like(lo), hi)
        level, lo, hi, size = np.broadcast_arrays(level, lo, hi, size)
        alpha = (level <= lo).astype(np.float32)
        rim = (level > lo) & (level < hi)
        r = _pow(level[rim], 1.0 / shape)
        alpha[rim] = self.cover((1.0 - r) * size[rim])
        return alpha

    def blend(self, sl, alpha: np.ndarray, value) -> None:
        """Blend ``value`` (scalar or array) into the window with ``alpha``."""
        sub = self.img[sl]
        sub += alpha * (value - sub)

    def shade(self, sl, alpha: np.ndarray, factor: float) -> None:
        """Multiply the window by ``factor`` where ``alpha`` is 1 (darken/brighten)."""
        sub = self.img[sl]
        sub *= 1.0 + alpha * (factor - 1.0)

    # -- parts -------------------------------------------------------------

    def ellipse(
        self, x: float, y: float, a: float, b: float, value: float, shape: float = 2.0, strength: float = 1.0
    ) -> None:
        """Paint a filled super-ellipse of half-axes (a, b) centred on (x, y)."""
        w = self.window(x - a, x + a, y - b, y + b)
        if w is None:
            return
        sl, X, Y = w
        level = _pow(np.abs((X - x) / a), shape) + _pow(np.abs((Y - y) / b), shape)
        alpha = self.cover_super_ellipse(level, shape, min(a, b))
        if strength != 1.0:
            alpha *= strength
        self.blend(sl, alpha, value)

    def blob(self, x: float, y: float, a: float, b: float, factor: float) -> None:
        """Multiply a soft Gaussian blob (std a, b) by ``factor`` at its centre."""
        w = self.window(x - 2.5 * a, x + 2.5 * a, y - 2.5 * b, y + 2.5 * b)
        if w is None:
            return
        sl, X, Y = w
        # exp(-(u**2 + v**2)/2) = exp(-u**2/2) exp(-v**2/2): two 1-D evaluations.
        u, v = (X - x) / a, (Y - y) / b
        g = (_exp(-0.5 * u * u) * _exp(-0.5 * v * v)).astype(np.float32)
        self.shade(sl, g, factor)

    def curve(
        self,
        p: tuple[float, float],
        q: tuple[float, float],
        bulge: float,
        thick: float,
        value: float,
        strength: float = 1.0,
        taper: float = 0.5,
        thick_end: float = 1.0,
        soft: float = 1.0,
    ) -> None:
        """Paint a thick quadratic curve from ``p`` to ``q``.

        The curve deviates from the chord by ``bulge`` (face units, to the left of
        p->q, i.e. upwards for a left-to-right curve) at its middle. The half
        thickness is ``thick`` at ``p``, ``thick * thick_end`` at ``q``, and tapers
        to zero at both ends with exponent ``taper``. ``soft`` widens the edge.
        """
        (x0, y0), (x1, y1) = p, q
        dx, dy = x1 - x0, y1 - y0
        length = math.sqrt(dx * dx + dy * dy)
        if length < 1e-6 or thick <= 0 or strength <= 0:
            return
        ex, ey = dx / length, dy / length
        nx, ny = ey, -ex  # normal (left of the direction of travel in y-down coords)
        m = abs(bulge) + thick * max(1.0, thick_end) + 2 * soft * self.px
        w = self.window(min(x0, x1) - m, max(x0, x1) + m, min(y0, y1) - m, max(y0, y1) + m)
        if w is None:
            return
        sl, X, Y = w
        rx, ry = X - x0, Y - y0
        t = (rx * ex + ry * ey) / length
        d = rx * nx + ry * ny
        tc = np.clip(t, 0.0, 1.0)
        off = bulge * 4.0 * tc * (1.0 - tc)
        slope = bulge * 4.0 * (1.0 - 2.0 * tc) / length
        th = thick * (1.0 + (thick_end - 1.0) * tc) * _pow(4.0 * tc * (1.0 - tc) + 1e-3, taper)
        sd = th - np.abs(d - off) / np.sqrt(1.0 + slope * slope)
        sd = np.minimum(sd, np.minimum(t, 1.0 - t) * length)
        alpha = np.clip(0.5 + sd / (soft * self.px), 0.0, 1.0)
        if strength != 1.0:
            alpha *= strength
        self.blend(sl, alpha, value)


# ---------------------------------------------------------------------------
# The face
# ---------------------------------------------------------------------------


def _draw_hair_and_head(cv: _Canvas, pp: PersonGeometry, jaw: float) -> None:
    skin = pp.skin
    fw, fh, ch = pp.face_w, pp.face_h, pp.chin_h + jaw
    # Neck (behind the face).
    nw = 0.42 * fw
    w = cv.window(-nw, nw, 0.3, 3.0)
    if w is not None:
        sl, X, Y = w
        cv.blend(sl, cv.cover(nw - np.abs(X)) * cv.cover(Y - 0.3), skin * 0.82)
    # Hair mass behind the head.
    hv = pp.hair_volume
    cv.ellipse(0.0, -0.12, fw * hv + 0.05, fh * hv + 0.08, pp.hair, shape=2.2)
    # Ears.
    for s in (-1.0, 1.0):
        cv.ellipse(s * fw * 0.97, pp.eye_y + 0.16, pp.ear_size * 0.55, pp.ear_size, skin * 0.9)
    # Face: upper and lower halves of a super-ellipse, the lower one tapering.
    w = cv.window(-fw, fw, -fh, ch)
    sl, X, Y = w
    h = np.where(Y < 0, fh, ch)
    yy = Y / h
    width = fw * (1.0 - pp.jaw_taper * _pow(np.clip(yy, 0.0, 1.0), 2.0))
    fs = pp.face_shape
    # |X / width|**fs = |X|**fs * width**-fs: a row times a column.
    level = _pow(np.abs(X), fs) * _pow(width, -fs) + _pow(np.abs(yy), fs)
    alpha = cv.cover_super_ellipse(level, fs, np.minimum(width, h))
    # Soft shading towards the face border gives the face some relief: 1 - 0.18 r**4 with
    # r = level**(1/fs) clipped to 1 (evaluated where r < 1 only).
    inner = level < 1.0
    r4 = np.ones_like(level)
    r4[inner] = _pow(level[inner], 4.0 / fs)
    value = skin * (1.0 - 0.18 * r4)
    cv.blend(sl, alpha, value)
    # Hair over the forehead, above a curved hair line.
    w = cv.window(-fw * hv - 0.05, fw * hv + 0.05, -fh * hv - 0.25, pp.hairline + 0.5)
    sl, X, Y = w
    line = pp.hairline + pp.hairline_curve * X * X
    inside = (_pow(X / (fw * hv + 0.05), 2.0) + _pow((Y + 0.12) / (fh * hv + 0.08), 2.0)) < 1.0
    cv.blend(sl, cv.cover(line - Y) * inside, pp.hair)
    # Cheek shading (fuller cheeks cast a shadow under the cheekbone).
    if pp.cheek > 0.05:
        for s in (-1.0, 1.0):
            cv.blob(s * fw * 0.72, pp.eye_y + pp.nose_len + 0.05, 0.1, 0.16, 1.0 - 0.12 * pp.cheek)


def _draw_brows(cv: _Canvas, pp: PersonGeometry, p: dict[str, float]) -> None:
    for s in (-1.0, 1.0):
        inner_x = s * (pp.eye_sep - pp.eye_w * 0.95 - p["brow_pull"])
        outer_x = s * (abs(inner_x) + pp.eye_w * pp.brow_len * (1.0 + 0.5 * p["brow_pull"]))
        base = pp.eye_y - pp.brow_gap
        yi = base + p["brow_in"]
        yo = base + pp.brow_tilt + p["brow_out"]
        # Oblique, raised-inner brows (sadness, fear) lose their arch.
        arch = max(0.0, pp.brow_arch - 0.3 * max(0.0, yo - yi - 0.02))
        if s > 0:
            cv.curve((inner_x, yi), (outer_x, yo), arch, pp.brow_thick, pp.brow_tone, taper=0.25, thick_end=0.55)
        else:
            cv.curve(
                (outer_x, yo), (inner_x, yi), arch, pp.brow_thick * 0.55, pp.brow_tone, taper=0.25, thick_end=1.0 / 0.55
            )


def _draw_eyes(cv: _Canvas, pp: PersonGeometry, p: dict[str, float], gaze: tuple[float, float]) -> None:
    ew = pp.eye_w
    hu = pp.eye_open * (1.0 + p["lid_up"])
    hl = pp.eye_open * pp.lower_lid * (1.0 - p["lid_low"])
    ey = pp.eye_y - 0.012 * p["cheek_raise"]
    skin = pp.skin
    for s in (-1.0, 1.0):
        ex = s * pp.eye_sep
        # Eye socket shadow.
        cv.blob(ex, ey - 0.02, ew * 0.9, 0.09, 0.88)
        w = cv.window(ex - ew, ex + ew, ey - hu - 0.06, ey + hl + 0.05)
        if w is None:
            continue
        sl, X, Y = w
        u = (X - ex) / ew
        g = _pow(np.clip(1.0 - u * u, 0.0, 1.0), 0.8)
        y_up = ey - hu * g
        y_lo = ey + hl * g
        opening = cv.cover(np.minimum(Y - y_up, y_lo - Y))
        cv.blend(sl, opening, 0.55 + 0.35 * skin + 0.1)
        # Iris and pupil, clipped to the opening.
        ix, iy = ex + gaze[0], ey + gaze[1] + 0.1 * (hl - hu) * 0.3
        r = np.sqrt(_pow(X - ix, 2.0) + _pow(Y - iy, 2.0))
        cv.blend(sl, opening * cv.cover(pp.iris_r - r), pp.iris_tone)
        cv.blend(sl, opening * cv.cover(pp.iris_r * 0.45 - r), 0.04)
        # Upper lid line (lashes) and lower lid line.
        lid = cv.cover(0.012 - np.abs(Y - y_up + 0.004)) * (np.abs(u) < 1.08)
        cv.blend(sl, lid, pp.brow_tone * 0.6)
        low = cv.cover(0.006 - np.abs(Y - y_lo - 0.003)) * (np.abs(u) < 1.0)
        cv.blend(sl, low * 0.5, skin * 0.6)
        # Upper lid crease, hidden when the lid is raised wide.
        crease = max(0.0, 0.6 - 0.6 * p["lid_up"])
        if crease > 0.02:
            cv.curve(
                (ex - ew * 0.85, ey - hu * 0.2 - 0.02),
                (ex + ew * 0.85, ey - hu * 0.2 - 0.02),
                hu * 0.9 + 0.035,
                0.006,
                skin * 0.65,
                strength=crease,
            )
        # Cheek raise (AU6): lower-lid bulge and an infraorbital furrow.
        if p["cheek_raise"] > 0.05 or p["lid_low"] > 0.2:
            k = min(1.0, max(p["cheek_raise"], p["lid_low"]))
            cv.curve(
                (ex + ew * 0.95, ey + hl + 0.05),
                (ex - ew * 0.95, ey + hl + 0.05),
                -0.03,
                0.008,
                skin * 0.62,
                strength=0.8 * k,
            )


def _draw_nose(cv: _Canvas, pp: PersonGeometry, p: dict[str, float]) -> float:
    skin = pp.skin
    nw = pp.nose_w
    wr = p["nose_wrinkle"]
    ny = pp.eye_y + pp.nose_len - 0.02 * wr - 0.4 * p["lip_raise"]
    # Bridge sides.
    for s in (-1.0, 1.0):
        cv.curve((s * 0.05, pp.eye_y + 0.05), (s * (nw * 0.85), ny - 0.06), 0.0, 0.008, skin * 0.75, strength=0.6)
    # Nose tip highlight and wings.
    cv.blob(0.0, ny - 0.04, 0.05, 0.04, 1.1)
    for s in (-1.0, 1.0):
        cv.curve((s * nw * 0.55, ny - 0.06), (s * (nw + 0.03), ny + 0.005), s * 0.03, 0.01, skin * 0.6, strength=0.8)
        cv.ellipse(s * nw * 0.55, ny + 0.005, nw * 0.38, 0.018 * (1 + 0.3 * wr), skin * 0.25)
    # Nose wrinkle (AU9): transverse lines across the bridge and at the inner eye corners.
    if wr > 0.05:
        top = pp.eye_y + 0.03
        for k in range(3):
            y = top + 0.035 * k
            cv.curve((-0.07, y), (0.07, y), 0.012, 0.007, skin * 0.55, strength=min(1.0, wr))
        for s in (-1.0, 1.0):
            x0 = s * (pp.eye_sep - pp.eye_w * 0.9)
            cv.curve(
                (x0, pp.eye_y + 0.02), (s * 0.07, pp.eye_y + 0.12), 0.0, 0.007, skin * 0.55, strength=min(1.0, wr) * 0.8
            )
    return ny


def _draw_mouth(cv: _Canvas, pp: PersonGeometry, p: dict[str, float], ny: float) -> None:
    skin = pp.skin
    mw = pp.mouth_w * max(0.45, 1.0 + p["mouth_w"])
    my = ny + pp.mouth_gap + 0.5 * p["jaw"] * 0.3
    c = p["mouth_curve"]
    press = p["lip_press"]
    tu = pp.lip_upper * (1.0 - press)
    tl = pp.lip_lower * (1.0 - press)
    op = p["mouth_open"]
    o_up = 0.3 * op + p["lip_raise"]
    o_lo = 0.7 * op + p["jaw"] * 0.6 - p["chin_raise"]
    o_lo = max(o_lo, -0.3 * tl)
    # Nasolabial folds (nose wing to beyond the mouth corner).
    nl = p["nasolabial"] + pp.crease * 0.3
    if nl > 0.03:
        for s in (-1.0, 1.0):
            cv.curve(
                (s * (pp.nose_w + 0.04), ny - 0.03),
                (s * (mw + 0.07), my + c + 0.06),
                s * 0.04,
                0.009,
                skin * 0.6,
                strength=min(1.0, nl),
            )
    pad = tu + tl + o_up + o_lo + abs(c) + 0.06
    w = cv.window(-mw - 0.02, mw + 0.02, my - pad, my + pad + 0.05)
    if w is None:
        return
    sl, X, Y = w
    u = X / mw
    inside = 1.0 - u * u
    ins = np.clip(inside, 0.0, 1.0)
    yc = my + c * u * u
    g_open = np.sqrt(ins)
    bow = 1.0 - 0.35 * _exp(-_pow(u / 0.18, 2.0)).astype(np.float32)  # Cupid's bow dip
    top_in = yc - o_up * g_open
    bot_in = yc + o_lo * g_open
    top_out = top_in - tu * _pow(ins, 0.6) * bow - 0.002
    bot_out = bot_in + tl * np.sqrt(ins) + 0.002
    side = cv.cover(inside * mw * 0.5)
    lips = cv.cover(np.minimum(Y - top_out, bot_out - Y)) * side
    cv.blend(sl, lips, pp.lip_tone)
    # Shadow under the lower lip (chin boss), stronger with AU17.
    chin = cv.cover(0.01 - np.abs(Y - bot_out - 0.035 - 0.02 * ins)) * side * ins
    cv.blend(sl, chin * (0.35 + 4.0 * p["chin_raise"]), skin * 0.7)
    if o_up + o_lo > 0.004:
        opening = cv.cover(np.minimum(Y - top_in, bot_in - Y)) * side
        cv.blend(sl, opening, 0.06)
        if p["teeth"] > 0.05:
            teeth_h = (o_up + o_lo) * 0.45 * p["teeth"]
            tmask = opening * cv.cover(top_in + teeth_h - Y) * cv.cover((0.85 - np.abs(u)) * mw)
            cv.blend(sl, tmask, 0.82)
    # The line between the lips (darker at the corners).
    line = cv.cover(0.006 + 0.004 * ins - np.abs(Y - yc)) * cv.cover((1.04 - np.abs(u)) * mw)
    cv.blend(sl, line, pp.lip_tone * 0.35)
    # Corner dimples.
    for s in (-1.0, 1.0):
        cv.blob(s * mw, my + c, 0.02, 0.02, 0.8)


def _draw_forehead(cv: _Canvas, pp: PersonGeometry, p: dict[str, float]) -> None:
    skin = pp.skin
    base = pp.eye_y - pp.brow_gap + min(p["brow_in"], p["brow_out"])
    f = p["forehead"] + 0.25 * pp.crease
    if f > 0.05:
        span = 0.18 + 0.22 * min(1.0, p["forehead"])  # fear: central lines only
        for k in range(3):
            y = base - 0.09 - 0.06 * k
            if y < pp.hairline + 0.02:
                break
            cv.curve((-span, y), (span, y), 0.02, 0.006, skin * 0.68, strength=min(1.0, f))
    gl = p["glabella"]
    if gl > 0.05:
        yb = pp.eye_y - pp.brow_gap + p["brow_in"]
        for s in (-1.0, 1.0):
            x = s * 0.035
            cv.curve((x, yb - 0.08), (x * 1.4, yb + 0.04), s * 0.01, 0.007, skin * 0.55, strength=min(1.0, gl))


def render_face(
    person: PersonGeometry,
    expression: str,
    intensity: float,
    pose: Pose,
    rng: np.random.Generator,
    size: int = 256,
) -> np.ndarray:
    """Draw one face and return it as a uint8 (size, size) grayscale image.

    ``expression`` is one of :data:`EXPRESSIONS`, ``intensity`` scales the
    expression prototype (0 = resting face, 1 = full prototype), ``pose`` gives
    the viewing conditions and ``rng`` supplies the per-image jitter of the facial
    parameters, the gaze and the noise.
    """
    img = _render_float(person, expression, intensity, pose, rng, size)
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _render_float(
    person: PersonGeometry, expression: str, intensity: float, pose: Pose, rng: np.random.Generator, size: int
) -> np.ndarray:
    """:func:`render_face` before the rounding to uint8: a float32 (size, size) image, 0-1 scale.

    Kept separate so that the determinism tests can compare the full float bits, which
    show a platform difference long before it flips a rounded uint8 pixel.
    """
    if expression not in _PROTOTYPES:
        raise ValueError(f"unknown expression {expression!r}; expected one of {EXPRESSIONS}")
    size = int(size)
    if size < 16:
        raise ValueError(f"size must be at least 16, got {size}")
    p = _expression_params(person, expression, float(intensity), rng)
    gaze = (float(rng.normal(0.0, 0.012)), float(rng.normal(0.0, 0.006)))

    cv = _Canvas(size, pose.background)
    _draw_hair_and_head(cv, person, p["jaw"])
    _draw_forehead(cv, person, p)
    if p["cheek_raise"] > 0.05:
        for s in (-1.0, 1.0):
            cv.blob(
                s * person.eye_sep * 1.05,
                person.eye_y + person.nose_len * 0.6,
                0.11,
                0.08,
                1.0 + 0.12 * min(1.0, p["cheek_raise"]),
            )
    _draw_eyes(cv, person, p, gaze)
    _draw_brows(cv, person, p)
    ny = _draw_nose(cv, person, p)
    _draw_mouth(cv, person, p, ny)
    img = cv.img

    # Pose: one bilinear warp (rotation and scale about the centre, translation).
    # The 2 x 2 products are written out: numpy's matmul goes to OpenBLAS, whose kernels
    # depend on the CPU.
    cos, sin = _cos_sin(pose.rotation * (math.pi / 180.0))
    a = ((cos / pose.scale, sin / pose.scale), (-sin / pose.scale, cos / pose.scale))
    centre = (size - 1) / 2.0
    v = (centre + pose.ty * size, centre + pose.tx * size)
    offset = (centre - (a[0][0] * v[0] + a[0][1] * v[1]), centre - (a[1][0] * v[0] + a[1][1] * v[1]))
    img = ndimage.affine_transform(img, np.array(a), offset=offset, order=1, mode="nearest")

    # Lighting gradient and global brightness.
    lin = (np.arange(size, dtype=np.float32) - (size - 1) / 2.0) / (size / 2.0)
    light_cos, light_sin = _cos_sin(pose.light_angle)
    gx = light_cos * pose.light_strength
    gy = light_sin * pose.light_strength
    img *= (pose.brightness * (1.0 + gy * lin[:, None] + gx * lin[None, :])).astype(np.float32)

    sigma = pose.blur_sigma * size / 256.0
    if sigma > 0.05:
        img = _gaussian_blur(img, sigma, truncate=3.0)
    img += rng.normal(0.0, pose.noise_sigma, img.shape).astype(np.float32)
    return img


def make_synthetic(n_subjects: int = 20, images_per_expression: int = 5, size: int = 256, seed: int = 0):
    """Generate the synthetic dataset.

    Returns ``(images, labels, subjects)``: ``images`` is a uint8 array of shape
    (N, size, size), ``labels`` a list of N names from :data:`EXPRESSIONS`,
    ``subjects`` a list of N ids ``"P01"``, ``"P02"``, ... with
    N = n_subjects * 7 * images_per_expression, ordered subject-major, then
    expression (in :data:`EXPRESSIONS` order), then repeat. Fully deterministic in
    ``seed``; images do not depend on ``n_subjects`` or ``images_per_expression``
    beyond which of them are generated.
    """
    n_subjects = int(n_subjects)
    images_per_expression = int(images_per_expression)
    seed = int(seed)
    if n_subjects < 1 or images_per_expression < 1:
        raise ValueError("n_subjects and images_per_expression must be positive")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    n = n_subjects * len(EXPRESSIONS) * images_per_expression
    images = np.empty((n, size, size), dtype=np.uint8)
    labels: list[str] = []
    subjects: list[str] = []
    width = max(2, len(str(n_subjects)))
    k = 0
    for i in range(n_subjects):
        person = sample_person(np.random.default_rng([seed, i, 0]))
        sid = f"P{i + 1:0{width}d}"
        for e, expression in enumerate(EXPRESSIONS):
            for r in range(images_per_expression):
                rng = np.random.default_rng([seed, i, e + 1, r])
                pose = sample_pose(rng)
                intensity = rng.uniform(*INTENSITY_RANGE)
                images[k] = render_face(person, expression, intensity, pose, rng, size=size)
                labels.append(expression)
                subjects.append(sid)
                k += 1
    return images, labels, subjects
