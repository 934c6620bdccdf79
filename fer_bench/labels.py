"""Canonical expression labels and the spellings that map to them.

The seed paper's seven classes, in its order, plus ``contempt`` (CK+ has it). Every
dataset source maps its own spelling onto these names; methods only ever see the
classes a dataset actually has, in this canonical order.
"""

from __future__ import annotations

import difflib
import unicodedata

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
    key = label_key(raw)
    try:
        return LABEL_ALIASES[key]
    except KeyError:
        place = f" in {where}" if where else ""
        known = ", ".join(CANONICAL_LABELS)
        close = difflib.get_close_matches(key, list(LABEL_ALIASES), n=1, cutoff=0.75) if key else []
        if close:
            hint = f"; did you mean {close[0]!r} ({LABEL_ALIASES[close[0]]})?"
        elif str(raw).strip().isdigit():
            hint = "; numeric codes differ between datasets (FER2013's 0 is angry, RAF-DB's 1 is surprise): write names"
        else:
            hint = " (or a common spelling such as angry, happy, sad, surprised, AN, HA)"
        raise DatasetError(f"unknown expression label {raw!r}{place}; expected one of {known}{hint}") from None


def label_key(raw) -> str:
    """How a raw label is compared: Unicode-normalised (NFKC), case-folded, without
    surrounding space, a trailing digit run, ``-``, ``_`` or inner spaces."""
    text = unicodedata.normalize("NFKC", str(raw)).strip().casefold().rstrip("0123456789")
    return "".join(text.split()).replace("-", "").replace("_", "")


def merged_spellings(raw_labels) -> dict[str, list[str]]:
    """Canonical label → its distinct raw spellings, where a dataset uses two words for
    one class (``calm`` and ``neutral``): these are merged, and the source says so. Case
    and spacing variants of one word (``Happy``, ``happy ``) do not count."""
    words: dict[str, dict[str, str]] = {}
    for raw in raw_labels:
        key = label_key(raw)
        canonical = LABEL_ALIASES.get(key)
        if canonical is not None:
            words.setdefault(canonical, {}).setdefault(key, str(raw).strip())
    return {c: sorted(spellings.values()) for c, spellings in words.items() if len(spellings) > 1}


def order_labels(labels) -> list[str]:
    """The distinct canonical labels present in ``labels``, in canonical order."""
    present = set(labels)
    return [label for label in CANONICAL_LABELS if label in present]
