"""What every dataset source shares: the image file extensions, path and option checks."""

from __future__ import annotations

from pathlib import Path

from ..errors import DatasetError

#: Extensions read as images (any case). Pillow reads each of them.
IMAGE_SUFFIXES = {
    ".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".tif", ".tiff", ".bmp", ".dib",
    ".pgm", ".ppm", ".pbm", ".pnm", ".gif", ".webp",
}


def require_path(source: str, path: str | None, want_dir: bool = True) -> Path:
    """The existing path a source was given (a directory, or a file with ``want_dir=False``).

    Raises :class:`~fer_bench.errors.DatasetError` naming the source and the path.
    """
    if not path:
        raise DatasetError(f"the {source} source needs a path: {source}:PATH")
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise DatasetError(f"{source}: {resolved} does not exist")
    if want_dir and not resolved.is_dir():
        raise DatasetError(f"{source}: {resolved} is not a directory")
    if not want_dir and resolved.is_dir():
        raise DatasetError(f"{source}: {resolved} is a directory; give the CSV file")
    return resolved.resolve()


def check_options(source: str, options: dict, known: dict) -> None:
    """Refuse an option ``?key=value`` that ``source`` does not know, listing the ones it does."""
    unknown = sorted(set(options) - set(known))
    if unknown:
        allowed = ", ".join(known) or "none"
        raise DatasetError(f"unknown option {unknown[0]!r} for dataset source {source} (options: {allowed})")
