"""Canonical expression labels and the spellings that map to them.

The seed paper's seven classes, in its order, plus ``contempt`` (CK+ has it). Every
dataset source maps its own spelling onto these names; methods only ever see the
classes a dataset actually has, in this canonical order.
"""

from __future__ import annotations

from .errors import DatasetError

#: The canonical classes in the order of the seed paper's tables (contempt last).
CANONICAL_LABELS: tuple[str, ...] = (
    "anger",
    "disgust",
    "fear",
    "happiness",
    "neutral",
    "sadness",
    "surprise",
    "contempt",
)

_SPELLINGS: dict[str, tuple[str, ...]] = {
    "anger": ("anger", "angry", "an", "ang", "mad", "rage"),
    "disgust": ("disgust", "disgusted", "di", "dis", "disgusting"),
    "fear": ("fear", "fearful", "fe", "af", "afraid", "scared", "fea"),
    "happiness": ("happiness", "happy", "ha", "hap", "joy", "smile", "happ"),
    "neutral": ("neutral", "ne", "neu", "calm", "neut"),
    "sadness": ("sadness", "sad", "sa", "sorrow"),
    "surprise": ("surprise", "surprised", "su", "sur", "surp"),
    "contempt": ("contempt", "co", "con", "contemptuous"),
}

LABEL_ALIASES: dict[str, str] = {
    spelling: canonical for canonical, spellings in _SPELLINGS.items() for spelling in spellings
}


def canonical_label(raw: str, *, where: str = "") -> str:
    """Return the canonical name of an expression label, whatever its spelling.

    Matching ignores case, surrounding white space and a trailing digit run
    (JAFFE writes ``AN1``). An unknown label raises :class:`DatasetError` naming it
    and ``where`` it was found.
    """
    key = str(raw).strip().lower().rstrip("0123456789").replace("-", "").replace("_", "")
    try:
        return LABEL_ALIASES[key]
    except KeyError:
        place = f" in {where}" if where else ""
        known = ", ".join(CANONICAL_LABELS)
        raise DatasetError(
            f"unknown expression label {raw!r}{place}; expected one of {known} "
            "(or a common spelling such as angry, happy, sad, surprised, AN, HA)"
        ) from None


def order_labels(labels) -> list[str]:
    """The distinct canonical labels present in ``labels``, in canonical order."""
    present = set(labels)
    return [label for label in CANONICAL_LABELS if label in present]
