"""Which datasets a pretrained backbone has already seen, and when that matters.

A backbone pretrained on a facial expression dataset (mini-Xception on FER2013) has
seen the images, and their labels, of that dataset: numbers it reaches on that same
dataset, or on one built from its images (FER+ relabels FER2013's images), are not an
independent measurement of how it generalises. :func:`overlap` is the predicate that
tables and reports use to say so; methods declare their pretraining data in
``Method.pretraining`` (the class's data; an instance trained from scratch has none).
"""

from __future__ import annotations

import re
from typing import Any

#: Datasets whose images are those of a pretraining set: pretraining name → the names
#: (lower case, punctuation removed) under which its images appear.
SAME_IMAGES: dict[str, tuple[str, ...]] = {
    "fer2013": ("fer2013", "ferplus", "fer+", "icml2013", "fer2013plus"),
    "imagenet1k": ("imagenet", "imagenet1k", "ilsvrc2012"),
}


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-.]", "", str(text).lower())


def _tokens(dataset: Any) -> list[str]:
    """Names a dataset goes by: a string, or a Dataset / summary dict (name, spec and the
    ``source`` / ``derived_from`` notes a manifest may carry)."""
    if isinstance(dataset, str):
        return [dataset]
    found = []
    for attr in ("name", "spec"):
        value = getattr(dataset, attr, None) if not isinstance(dataset, dict) else dataset.get(attr)
        if value:
            found.append(str(value))
    notes = getattr(dataset, "notes", None) if not isinstance(dataset, dict) else dataset.get("notes")
    for key in ("source", "derived_from", "pretraining_overlap"):
        if isinstance(notes, dict) and notes.get(key):
            found.append(str(notes[key]))
    return found


def overlap(pretrained_on: str | None, dataset: Any) -> str | None:
    """A one-line warning when ``dataset`` is (or is made from) the data a method was
    pretrained on, else ``None``.

    ``dataset`` is a :class:`~fer_bench.datasets.Dataset`, a dataset summary dict or a
    name/spec string; it matches when a pretraining name's alias (:data:`SAME_IMAGES`)
    occurs in its name, spec or ``source``/``derived_from`` note, e.g.
    ``overlap("FER2013", "manifest:/data/fer2013/labels.csv")``.
    """
    if not pretrained_on:
        return None
    key = _norm(pretrained_on)
    aliases = SAME_IMAGES.get(key, (key,))
    for token in _tokens(dataset):
        text = _norm(token)
        if any(_norm(alias) in text for alias in aliases):
            return (
                f"pretrained on {pretrained_on}, which is (or overlaps) the evaluated dataset: "
                "its numbers here are not independent"
            )
    return None
