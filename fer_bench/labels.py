"""Canonical expression labels and the spellings that map to them.

The seed paper's seven classes, in its order, plus ``contempt`` (CK+ has it). Every
dataset source maps its own spelling onto these names; methods only ever see the
classes a dataset actually has, in this canonical order. A dataset with classes of its
own (RAVDESS's ``calm``, ``pain``, ``boredom``) declares them (:func:`extra_classes`,
the ``?extra_classes=`` option of the ``folder:`` and ``manifest:`` sources); they
come after the canonical ones, alphabetically.
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
    # Not "calm": RAVDESS (Livingstone & Russo 2018) records neutral and calm as two classes.
    "neutral": ("neutral", "ne", "neu", "neut"),
    "sadness": ("sadness", "sad", "sa", "sorrow"),
    "surprise": ("surprise", "surprised", "su", "sur", "surp"),
    "contempt": ("contempt", "co", "con", "contemptuous"),
}

LABEL_ALIASES: dict[str, str] = {
    spelling: canonical for canonical, spellings in _SPELLINGS.items() for spelling in spellings
}


EXTRA_CLASSES_HINT = (
    "; a class outside these must be declared: folder:PATH?extra_classes=pain|calm (or manifest:CSV?extra_classes=…)"
)


def extra_classes(option: str | None, *, source: str) -> tuple[str, ...]:
    """The classes of a dataset's own declared in ``?extra_classes=a|b`` (``None`` or
    empty: none), as :func:`label_key` writes them, in the order given. Raises
    :class:`DatasetError` for a name that is already a spelling of a canonical class
    (it would hide that class) or that is given twice."""
    if option is None or not str(option).strip():
        return ()
    names: list[str] = []
    for part in str(option).split("|"):
        key = label_key(part)
        if not key:
            continue
        if key in LABEL_ALIASES:
            raise DatasetError(
                f"{source}?extra_classes: {part.strip()!r} is already read as class {LABEL_ALIASES[key]!r}; "
                "declare only classes outside " + ", ".join(CANONICAL_LABELS)
            )
        if key in names:
            raise DatasetError(f"{source}?extra_classes: {part.strip()!r} is given twice")
        names.append(key)
    return tuple(names)


def canonical_label(raw: str, *, where: str = "", extra: tuple[str, ...] = ()) -> str:
    """Return the canonical name of an expression label, whatever its spelling.

    Matching ignores case, surrounding white space and a trailing digit run
    (JAFFE writes ``AN1``). A label in ``extra`` (declared classes,
    :func:`extra_classes`) is returned as its :func:`label_key`. An unknown label raises
    :class:`DatasetError` naming it and ``where`` it was found.
    """
    key = label_key(raw)
    if key in extra:
        return key
    try:
        return LABEL_ALIASES[key]
    except KeyError:
        place = f" in {where}" if where else ""
        known = ", ".join(CANONICAL_LABELS)
        close = suggestion(key)
        if close:
            hint = f"; did you mean {close[0]!r} ({LABEL_ALIASES[close[0]]})?"
        elif str(raw).strip().isdigit():
            hint = "; numeric codes differ between datasets (FER2013's 0 is angry, RAF-DB's 1 is surprise): write names"
        else:
            hint = " (or a common spelling such as angry, happy, sad, surprised, AN, HA)" + EXTRA_CLASSES_HINT
        raise DatasetError(f"unknown expression label {raw!r}{place}; expected one of {known}{hint}") from None


def suggestion(key: str) -> list[str]:
    """The known spelling a mistyped label ``key`` most likely meant (``[]`` or one).

    difflib's closest match (ratio ≥ 0.75), among spellings no more than one letter
    shorter than ``key``: a typo rarely loses two letters, while another language's word
    often starts like a short code (German *Angst*, fear, is not ``ang``, anger)."""
    if not key:
        return []
    spellings = [s for s in LABEL_ALIASES if len(s) >= len(key) - 1]
    return difflib.get_close_matches(key, spellings, n=1, cutoff=0.75)


def label_key(raw) -> str:
    """How a raw label is compared: Unicode-normalised (NFKC), case-folded, without
    surrounding space, a trailing digit run, ``-``, ``_`` or inner spaces."""
    text = unicodedata.normalize("NFKC", str(raw)).strip().casefold().rstrip("0123456789")
    return "".join(text.split()).replace("-", "").replace("_", "")


def merged_spellings(raw_labels) -> dict[str, list[str]]:
    """Canonical label → its distinct raw spellings, where a dataset uses two words for
    one class (``happy`` and ``joy``): these are merged, and the source says so. Case
    and spacing variants of one word (``Happy``, ``happy ``) do not count."""
    words: dict[str, dict[str, str]] = {}
    for raw in raw_labels:
        key = label_key(raw)
        canonical = LABEL_ALIASES.get(key)
        if canonical is not None:
            words.setdefault(canonical, {}).setdefault(key, str(raw).strip())
    return {c: sorted(spellings.values()) for c, spellings in words.items() if len(spellings) > 1}


def order_labels(labels) -> list[str]:
    """The distinct labels present in ``labels``: the canonical ones in canonical order,
    then the others (a dataset's declared classes, :func:`extra_classes`) alphabetically."""
    present = set(labels)
    canonical = [label for label in CANONICAL_LABELS if label in present]
    return canonical + sorted(present - set(canonical))
