"""Inputs as real datasets arrive (issue 12, ../shared/cases/field-reports-2): decoding,
discovery, manifests from spreadsheets, hand-typed subject ids, re-encoded duplicates and a
results directory left without results. Every input is generated here in a temporary
directory from small synthetic images."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageOps

from fer_bench import load_dataset
from fer_bench.datasets.base import decode_image
from fer_bench.datasets.leakage import duplicates_spanning_groups
from fer_bench.errors import DatasetError
from tests.conftest import cli


def face(seed: int = 0, shape=(24, 32)) -> np.ndarray:
    """A grey 'face' with values 10..225 and a dark band on top (so rotations show)."""
    img = np.random.default_rng(seed).integers(10, 226, shape).astype(np.uint8)
    img[:4] = 5
    return img


def decode(path: Path) -> np.ndarray:
    return decode_image(path.read_bytes(), str(path))[0]


def save(array: np.ndarray, path: Path, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)
    return path


def run_args(dataset: str, out: Path, *extra: str) -> tuple[str, ...]:
    return ("run", "--methods", "pca-svm", "--dataset", dataset, "--runs", "1", "--folds", "3", "--out", str(out),
            "-q", *extra)


def one_line_error(proc) -> str:
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("fer-bench: error:") and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    return proc.stderr


# -- decoding ----------------------------------------------------------------------------
@pytest.mark.parametrize("orientation,stored_as", [(3, Image.Transpose.ROTATE_180), (6, Image.Transpose.ROTATE_90),
                                                   (8, Image.Transpose.ROTATE_270)])
def test_exif_orientation_is_applied_as_a_viewer_shows_it(tmp_path, orientation, stored_as):
    upright = face()
    exif = Image.Exif()
    exif[0x0112] = orientation
    sideways = Image.fromarray(upright).transpose(stored_as)
    png = tmp_path / "phone.png"
    sideways.save(png, exif=exif)
    assert np.array_equal(np.asarray(ImageOps.exif_transpose(Image.open(png))), upright)  # what a viewer shows
    array, notes = decode_image(png.read_bytes(), str(png))
    assert np.array_equal(array, upright)
    assert notes == (f"exif-orientation-{orientation}",)


def test_exif_case_phone_jpegs_reach_the_methods_upright(tmp_path):
    """Case exif-orientation: a folder of JPEGs stored sideways with Orientation=6."""
    exif = Image.Exif()
    exif[0x0112] = 6
    for i in range(3):
        for name in ("happy", "sad"):
            img = face(i + 10 * (name == "sad"))
            save(img, tmp_path / "upright" / name / f"{i}.jpg", quality=95)
            save(np.asarray(Image.fromarray(img).transpose(Image.Transpose.ROTATE_90)),
                 tmp_path / "exif" / name / f"{i}.jpg", quality=95, exif=exif)
    up, ex = load_dataset(f"folder:{tmp_path / 'upright'}"), load_dataset(f"folder:{tmp_path / 'exif'}")
    for i in range(len(up)):
        a, b = up.read_image(i).astype(int), ex.read_image(i).astype(int)
        assert a.shape == b.shape and np.abs(a - b).mean() < 3  # JPEG noise only, not a 90° turn
    assert any("6 images turned upright by their EXIF orientation tag" in line for line in ex.report_lines())
    assert ex.summary()["decoding"]["exif-orientation"]["images"] == 6


def test_sixteen_bit_is_scaled_by_a_fixed_factor(tmp_path):
    """Case sixteen-bit-stretch: 16-bit twins (value × 257) decode to the 8-bit values."""
    img = face()
    low_contrast = (img // 10 + 100).astype(np.uint8)  # 100..122: must not be stretched to 0..255
    for array, tag in ((img, "full"), (low_contrast, "low")):
        wide = array.astype(np.uint16) * 257
        paths = [
            save(array, tmp_path / f"{tag}_8.png"),
            save(wide, tmp_path / f"{tag}_16.png"),
            save(wide, tmp_path / f"{tag}_16.tif"),
            save(wide.astype(np.int32), tmp_path / f"{tag}_32.tif"),  # mode I holding 16-bit values
        ]
        for path in paths:
            assert np.array_equal(decode(path), array), path.name
    assert decode_image((tmp_path / "low_16.png").read_bytes(), "x")[1] == ("16-bit/257",)


def test_other_modes_give_the_same_pixels_and_count_as_duplicates(tmp_path):
    img = face()
    base = tmp_path / "modes" / "happy"
    g = Image.fromarray(img)
    g.save(save(img, base / "L.png"))
    g.convert("RGB").save(base / "RGB.png")
    g.convert("P").save(base / "P.png")
    g.convert("LA").save(base / "LA.png")  # opaque alpha
    g.convert("RGBA").save(base / "RGBA.png")  # opaque alpha
    g.convert("RGB").convert("CMYK").save(base / "CMYK.tif")
    g.convert("RGB").save(base / "RGB.bmp")
    for path in sorted(base.iterdir()):
        array, notes = decode_image(path.read_bytes(), str(path))
        assert np.array_equal(array, img) and notes == (), path.name
    save(face(1), tmp_path / "modes" / "sad" / "other.png")
    ds = load_dataset(f"folder:{tmp_path / 'modes'}")
    assert [sorted(g) for g in ds.duplicate_groups()] == [sorted(f"happy/{p.name}" for p in base.iterdir())]


def test_transparency_is_composited_on_black(tmp_path):
    img = face()
    alpha = np.full(img.shape, 255, np.uint8)
    alpha[:, :10] = 0
    alpha[:, 10:12] = 128
    rgba = Image.fromarray(np.dstack([img, img, img, alpha]), "RGBA")
    path = tmp_path / "cutout.png"
    rgba.save(path)
    array, notes = decode_image(path.read_bytes(), str(path))
    assert notes == ("alpha-on-black",)
    assert (array[:, :10] == 0).all() and np.array_equal(array[:, 12:], img[:, 12:])
    assert np.array_equal(array[:, 10:12], np.rint(img[:, 10:12].astype(float) * 128 / 255).astype(np.uint8))
    # a palette image with a transparent index: the same rule
    pal = Image.fromarray(img).convert("P")
    pal.save(tmp_path / "pal.png", transparency=int(np.asarray(pal)[0, 0]))
    array, notes = decode_image((tmp_path / "pal.png").read_bytes(), "pal.png")
    assert notes == ("alpha-on-black",) and array[0, 0] == 0


def test_float_images_need_the_unit_range(tmp_path):
    img = face()
    save((img / 255).astype(np.float32), tmp_path / "unit.tif")
    assert np.array_equal(decode(tmp_path / "unit.tif"), img)
    save(img.astype(np.float32), tmp_path / "grey_levels.tif")
    with pytest.raises(DatasetError, match=r"grey_levels.tif: floating-point values .* outside \[0, 1\]"):
        decode(tmp_path / "grey_levels.tif")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width × height and holds no pixel data (a bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) + chunk(b"IEND", b"")


def test_decompression_bomb_is_one_line_naming_the_file(tmp_path, tiny_folder):
    """Case decompression-bomb: 14000×13000 pixels, above Pillow's own refusal threshold."""
    (tiny_folder / "happy" / "big_scan.png").write_bytes(png_header_only(14000, 13000))
    out = tmp_path / "o"
    err = one_line_error(cli(*run_args(f"folder:{tiny_folder}", out), check=False))
    assert f"cannot decode image {tiny_folder / 'happy' / 'big_scan.png'}: image is too large" in err
    assert "14000×13000 = 182.0 Mpx" in err and "FER_BENCH_MAX_PIXELS=182000000" in err
    assert not out.exists()  # nothing half-written
    # Allowed by the variable, the file goes on to the decoder (which finds no pixel data).
    err = one_line_error(cli(*run_args(f"folder:{tiny_folder}", out), check=False,
                             env={"FER_BENCH_MAX_PIXELS": "200000000"}))
    assert "big_scan.png" in err and "too large" not in err


def test_size_limit_is_ours_not_pillows_global(tmp_path, monkeypatch):
    path = save(face(), tmp_path / "a.png")  # 768 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # a caller's own Pillow setting
    assert decode(path).shape == (24, 32)
    assert Image.MAX_IMAGE_PIXELS == 100  # left as it was
    monkeypatch.setenv("FER_BENCH_MAX_PIXELS", "500")
    with pytest.raises(DatasetError, match=r"a.png: image is too large \(32×24"):
        decode(path)
    monkeypatch.setenv("FER_BENCH_MAX_PIXELS", "lots")
    with pytest.raises(DatasetError, match="FER_BENCH_MAX_PIXELS='lots' is not a number"):
        decode(path)


def test_truncated_image_is_named(tmp_path):
    path = save(face(), tmp_path / "cut.jpg", quality=90)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DatasetError, match="cannot decode image .*cut.jpg"):
        decode(path)


# An EXIF block whose first IFD entry (Orientation) is cut short: Pillow warns "Corrupt EXIF data".
CORRUPT_EXIF = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03"


def test_corrupt_exif_is_a_note_not_pillows_warning(recwarn):
    """Pillow's own "Corrupt EXIF data" UserWarning (two lines naming its source file) used
    to be printed beside fer-bench's output, and the file got no note although its
    orientation could not be read. Now: the "exif-unreadable" note, and no warning."""
    buffer = io.BytesIO()
    Image.fromarray(face()).save(buffer, "JPEG", quality=95, exif=CORRUPT_EXIF)
    array, notes = decode_image(buffer.getvalue(), "corrupt_exif.jpg")
    assert notes == ("exif-unreadable",) and array.shape == face().shape[:2]
    assert not [w for w in recwarn if "EXIF" in str(w.message)]


def test_truncated_tiff_fails_in_one_line_without_pillows_warnings(jaffe_path, recwarn):
    data = next(Path(jaffe_path).glob("*.tiff")).read_bytes()[:100]
    with pytest.raises(DatasetError, match="cannot decode image cut.tiff"):
        decode_image(data, "cut.tiff")
    assert not [w for w in recwarn if "EXIF" in str(w.message)]


def test_other_decoder_warnings_are_passed_on(monkeypatch):
    """Only Pillow's EXIF complaints become a note; any other warning still reaches the user."""
    import fer_bench.datasets.base as base

    real = base._to_array

    def warning_to_array(img):
        warnings.warn("some other decoder warning", UserWarning, stacklevel=2)
        return real(img)

    monkeypatch.setattr(base, "_to_array", warning_to_array)
    monkeypatch.setattr(base, "_DECODER_WARNINGS_SHOWN", set())
    buffer = io.BytesIO()
    Image.fromarray(face()).save(buffer, "PNG")
    with pytest.warns(UserWarning, match="some other decoder warning"):
        decode_image(buffer.getvalue(), "plain.png")
    # Once per process, not once per image.
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("default")
        for _ in range(5):
            decode_image(buffer.getvalue(), "plain.png")
    assert shown == []

def test_fingerprint_of_ordinary_images_is_unchanged_and_decoding_notes_enter_it(tiny_folder):
    """The fingerprint identifies results: ordinary files keep the definition they had."""
    ds = load_dataset(f"folder:{tiny_folder}")
    digest = hashlib.sha256()
    for row in ds.samples.itertuples():
        image = hashlib.sha256((tiny_folder / row.sample_id).read_bytes()).hexdigest()
        digest.update(f"{row.label}\t\t{image}\n".encode())
    assert ds.fingerprint == digest.hexdigest()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.open(tiny_folder / "sad" / "000.png").save(tiny_folder / "sad" / "000.png", exif=exif)
    other = load_dataset(f"folder:{tiny_folder}")
    assert other.fingerprint != ds.fingerprint


def test_jaffe_fingerprint_unchanged(jaffe_path):
    ds = load_dataset(f"jaffe:{jaffe_path}")
    assert ds.fingerprint == "4444503494d5a6fbb8c9c44f2a2a1db66026a1f4e38d0d216c6807b2032251e5"
    assert ds.skipped == [("README", "not an image (no extension)")]


# -- discovery ---------------------------------------------------------------------------
def jaffe_like(root: Path, people=("KA", "KL", "KM"), codes=("AN", "HA"), per=3, ext=lambda person: "tiff") -> Path:
    n = 0
    for person in people:
        for code in codes:
            for k in range(per):
                n += 1
                save(face(n), root / f"{person}.{code}{k + 1}.{n}.{ext(person)}")
    return root


def test_jaffe_extensions_in_any_case_and_every_skip_listed(tmp_path):
    root = jaffe_like(tmp_path / "j", ext=lambda person: "TIFF" if person == "KM" else "tiff")
    save(face(), root / "kr.su1.99.Png")  # lower-case person, another image format
    (root / "._KA.AN1.1.tiff").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    (root / ".DS_Store").write_bytes(b"\x00")
    (root / "Thumbs.db").write_bytes(b"\x00")
    (root / "README").write_text("JAFFE")
    (root / "IMG_0001.HEIC").write_bytes(b"\x00")
    save(face(), root / "portrait.png")
    ds = load_dataset(f"jaffe:{root}")
    assert len(ds) == 19 and set(ds.samples["subject"]) == {"KA", "KL", "KM", "KR"}
    reasons = dict(ds.skipped)
    assert reasons == {
        "._KA.AN1.1.tiff": "hidden or system file", ".DS_Store": "hidden or system file",
        "Thumbs.db": "hidden or system file", "README": "not an image (no extension)",
        "IMG_0001.HEIC": "unreadable format .heic (convert to PNG)",
        "portrait.png": "name not in the jaffe pattern KA.AN1.39.tiff",
    }


def test_jaffe_uppercase_case_through_the_cli(tmp_path):
    """Case jaffe-uppercase-ext: every image used; skipped files counted, named, recorded."""
    root = jaffe_like(tmp_path / "mixed", ext=lambda person: "TIFF" if person == "KM" else "tiff")
    (root / "._KA.AN1.1.tiff").write_bytes(b"\x00\x05\x16\x07")
    (root / "notes.txt").write_text("x")
    out = tmp_path / "o"
    proc = cli(*run_args(f"jaffe:{root}", out))
    assert "(18 images, 2 classes)" in proc.stderr
    assert ("2 files skipped: hidden or system file ×1 (e.g. ._KA.AN1.1.tiff); not an image (.txt) ×1 "
            "(e.g. notes.txt) (see run.json)") in proc.stderr
    record = json.loads((out / "run.json").read_text())["dataset"]
    assert record["skipped_count"] == 2
    assert ["notes.txt", "not an image (.txt)"] in record["skipped"]


def test_layout_that_matches_nothing_says_what_it_expected(tmp_path):
    for i in range(4):
        save(face(i), tmp_path / "d" / f"img{i:03d}.png")
    with pytest.raises(DatasetError, match=r"none named like KA.AN1.39.tiff .*e.g. img000.png"):
        load_dataset(f"jaffe:{tmp_path / 'd'}")
    with pytest.raises(DatasetError, match="none named like AF01ANS.JPG"):
        load_dataset(f"kdef:{tmp_path / 'd'}")


def test_jaffe_names_given_as_folder_or_plain_path_suggest_jaffe(tmp_path):
    root = jaffe_like(tmp_path / "j")
    with pytest.raises(DatasetError, match=rf"not in class sub-folders .* look like jaffe's .*use jaffe:{root}"):
        load_dataset(f"folder:{root}")
    with pytest.raises(DatasetError, match=rf"look like jaffe's: use jaffe:{root}"):
        load_dataset(str(root))
    for name in ("AF01ANS.JPG", "AF02HAS.JPG", "BM03SAHL.jpg"):
        save(face(), tmp_path / "k" / name)
    with pytest.raises(DatasetError, match=rf"use kdef:{tmp_path / 'k'}"):
        load_dataset(f"folder:{tmp_path / 'k'}")


def test_folder_layout_in_the_field(tmp_path):
    root = tmp_path / "f"
    for name in ("happy", "Sad"):
        for i in range(3):
            save(face(i), root / name / f"{i}.PNG")
    save(face(), root / "preview.jpg")  # stray image next to the class folders
    (root / "contempt").mkdir()  # an empty class folder
    (root / "__MACOSX" / "happy").mkdir(parents=True)
    (root / "__MACOSX" / "happy" / "._0.PNG").write_bytes(b"\x00")
    outside = tmp_path / "elsewhere" / "surprise"
    for i in range(2):
        save(face(i + 5), outside / f"{i}.png")
    (root / "surprise").symlink_to(outside, target_is_directory=True)  # symlinked class folder
    (root / "happy" / "loop").symlink_to(root, target_is_directory=True)  # a link loop
    (root / "happy" / "gone.png").symlink_to(tmp_path / "missing.png")  # a broken link
    weird = os.fsencode(root / "Sad") + b"/caf\xe9.png"  # a Latin-1 file name (not UTF-8)
    Image.fromarray(face(9)).save(os.fsdecode(weird), format="PNG")
    ds = load_dataset(f"folder:{root}")
    ids = set(ds.samples["sample_id"])
    assert ids == {"happy/0.PNG", "happy/1.PNG", "happy/2.PNG", "Sad/0.PNG", "Sad/1.PNG", "Sad/2.PNG",
                   "Sad/caf\\xe9.png", "surprise/0.png", "surprise/1.png"}
    assert ds.read_image(ds.sample_ids.index("Sad/caf\\xe9.png")).shape == (24, 32)
    assert ds.classes == ["happiness", "sadness", "surprise"]
    assert dict(ds.skipped) == {"__MACOSX/": "hidden or system file", "happy/gone.png": "broken symbolic link",
                                "preview.jpg": "not inside a class sub-folder"}
    assert any("class folder contempt/ holds no images" in line for line in ds.report_lines())
    json.dumps(ds.summary())  # the record is JSON


def test_kaggle_train_test_layout_names_the_folder_to_give(tmp_path):
    for part in ("train", "test"):
        for name in ("happy", "sad"):
            save(face(), tmp_path / "fer" / part / name / "0.png")
    with pytest.raises(DatasetError, match=rf"'train'.*holds class folders itself .*folder:{tmp_path / 'fer' / 'test'}|"
                                           rf"'test'.*holds class folders itself"):
        load_dataset(f"folder:{tmp_path / 'fer'}")


def test_ckplus_case_insensitive_and_skips_listed(tmp_path):
    root = tmp_path / "ck"
    save(face(1), root / "Happy" / "s005_001_00000011.PNG")
    save(face(2), root / "Happy" / "S010_002_00000012.png")
    save(face(3), root / "anger" / "S005_003_00000001.png")
    save(face(4), root / "anger" / "frame.png")
    ds = load_dataset(f"ckplus:{root}")
    assert set(ds.samples["subject"]) == {"S005", "S010"} and len(ds) == 3
    assert ds.skipped == [("anger/frame.png", "name not in the ckplus pattern S005_001_00000011.png")]
    assert ds.subject_id_variants == {"S005": ["S005", "s005"]}


def test_kdef_pose_filter_is_counted_apart_and_checked(tmp_path):
    root = tmp_path / "kdef"
    for name in ("AF01ANS.JPG", "af01hahl.jpg", "BF01HAS.jpeg", "AM02SAFR.JPG"):
        save(face(), root / name, format="JPEG")
    ds = load_dataset(f"kdef:{root}")
    assert len(ds) == 2 and ds.skipped == []
    assert ds.filtered == {"pose not in ?poses=S (add ?poses=all for every pose)": 2}
    assert "2 images left out on purpose" in ds.report_lines()[0]
    assert len(load_dataset(f"kdef:{root}?poses=s,hl")) == 3
    with pytest.raises(DatasetError, match="unknown pose X"):
        load_dataset(f"kdef:{root}?poses=S,X")


# -- manifests ---------------------------------------------------------------------------
def manifest_images(root: Path) -> list[tuple[str, str, str]]:
    """Images for 3 people × 2 classes × 3 (one person's file names have an é)."""
    rows, n = [], 0
    for person in ("KA", "KL", "Kémi"):
        for label in ("Happy", "sad "):
            for k in range(3):
                n += 1
                rel = f"img/{person}.{label.strip()}.{k}.png"
                save(face(n), root / rel)
                rows.append((rel, label, person))
    return rows


def write_manifest(path: Path, rows, encoding="utf-8", newline="\n", sep=",", header=("path", "label", "subject")):
    text = newline.join(sep.join(r) for r in [header, *rows]) + newline
    path.write_bytes(text.encode(encoding))
    return path


def test_manifest_encodings_and_separators_from_spreadsheets(tmp_path):
    """Case manifest-encoding: Excel's CSV (Windows-1252), CSV UTF-8 (BOM, CRLF), ';' and UTF-16 tab text."""
    rows = manifest_images(tmp_path)
    plain = load_dataset(f"manifest:{write_manifest(tmp_path / 'plain.csv', rows)}")
    variants = {
        "cp1252.csv": dict(encoding="cp1252", newline="\r\n"),
        "bom.csv": dict(encoding="utf-8-sig", newline="\r\n", header=("Path", " Label", "Subject ")),
        "semicolon.csv": dict(encoding="utf-8-sig", newline="\r\n", sep=";"),
        "unicode.txt": dict(encoding="utf-16", newline="\r\n", sep="\t"),
    }
    for name, kwargs in variants.items():
        ds = load_dataset(f"manifest:{write_manifest(tmp_path / name, rows, **kwargs)}")
        assert ds.fingerprint == plain.fingerprint, name
        assert list(ds.samples["sample_id"]) == list(plain.samples["sample_id"])
    cp = load_dataset(f"manifest:{tmp_path / 'cp1252.csv'}")
    assert any("read as Windows-1252 (cp1252)" in n for n in cp.notices)
    assert load_dataset(f"manifest:{tmp_path / 'cp1252.csv'}?encoding=latin-1").fingerprint == plain.fingerprint


def test_manifest_encoding_case_through_the_cli(tmp_path):
    rows = manifest_images(tmp_path)
    csv = write_manifest(tmp_path / "excel.csv", rows, encoding="cp1252", newline="\r\n")
    proc = cli(*run_args(f"manifest:{csv}", tmp_path / "o", "--protocol", "subject"))
    assert "is not UTF-8 (first at line" in proc.stderr and "(18 images, 2 classes)" in proc.stderr


def test_manifest_encoding_errors_name_the_line(tmp_path):
    rows = manifest_images(tmp_path)
    good = write_manifest(tmp_path / "m.csv", rows)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(good.read_bytes().replace("Kémi".encode(), b"K\x81mi", 1))  # neither UTF-8 nor cp1252
    with pytest.raises(DatasetError, match=rf"manifest {bad} line 14 \(column 6\) is not UTF-8 .*'CSV UTF-8'"):
        load_dataset(f"manifest:{bad}")
    with pytest.raises(DatasetError, match=r"line 14 \(column 6\) cannot be decoded as ascii"):
        load_dataset(f"manifest:{good}?encoding=ascii")
    with pytest.raises(DatasetError, match="unknown \\?encoding='klingon'"):
        load_dataset(f"manifest:{good}?encoding=klingon")
    xlsx = tmp_path / "book.csv"
    xlsx.write_bytes(b"PK\x03\x04 workbook")
    with pytest.raises(DatasetError, match="spreadsheet workbook"):
        load_dataset(f"manifest:{xlsx}")


def test_manifest_finds_files_named_in_the_manifests_own_encoding(tmp_path):
    """Files unpacked from a Windows archive keep cp1252 bytes in their names."""
    name = os.fsencode(tmp_path) + b"/K\xe9mi.png"
    Image.fromarray(face()).save(os.fsdecode(name), format="PNG")
    save(face(1), tmp_path / "b.png")
    csv = tmp_path / "m.csv"
    csv.write_bytes("path,label\r\nKémi.png,happy\r\nb.png,sad\r\n".encode("cp1252"))
    ds = load_dataset(f"manifest:{csv}")
    assert list(ds.samples["sample_id"]) == ["Kémi.png", "b.png"]
    assert ds.read_image(0).shape == (24, 32)


def test_manifest_paths_as_labs_write_them(tmp_path):
    for name in ("a", "b", "c", "d"):
        save(face(ord(name)), tmp_path / "data" / "img" / f"{name}.png")
    save(face(9), tmp_path / "other" / "e.png")
    csv = tmp_path / "data" / "m.csv"
    absolute = tmp_path / "data" / "img" / "d.png"
    csv.write_text(
        "path,label,subject\n"
        "img\\a.png,happy,P1\n"  # Windows separators
        "./img/b.png,happy,P1\n"
        "img/c.png,sad,P2\n"
        f"{absolute},sad,P2\n"
        "../other/e.png,sad,P3\n"  # outside the manifest's folder
        "img/c.png,sad,p2 \n"  # the same row again (same person, other spelling)
        ",,\n"  # a blank row, as spreadsheets leave
    )
    ds = load_dataset(f"manifest:{csv}")
    assert sorted(ds.samples["sample_id"]) == sorted(["img/a.png", "img/b.png", "img/c.png", str(absolute),
                                                      "../other/e.png"])
    assert ds.skipped == [("img/c.png (line 7)", "repeats an earlier manifest row")]
    assert all(ds.read_image(i).shape == (24, 32) for i in range(len(ds)))
    csv.write_text("path,label\nimg/a.png,happy\nimg/a.png,sad\n")
    with pytest.raises(DatasetError, match=r"lines 2 and 3 both list img/a.png with different labels"):
        load_dataset(f"manifest:{csv}")
    csv.write_text("path,label\nimg/a.png,happy\nimg/zz.png,sad\nC:\\Users\\lab\\img\\b.png,sad\n")
    with pytest.raises(DatasetError, match=r"2 listed image files not found .* line 3: img/zz.png; line 4: "
                                           r"C:\\Users.*Windows drive paths"):
        load_dataset(f"manifest:{csv}")


def test_manifest_columns_named_otherwise(tmp_path):
    save(face(), tmp_path / "a.png")
    csv = tmp_path / "m.csv"
    csv.write_text("file;emotion\na.png;happy\n")
    with pytest.raises(DatasetError, match=r"needs columns 'path' and 'label' .*rename: path \(found 'file'\), "
                                           r"label \(found 'emotion'\)"):
        load_dataset(f"manifest:{csv}")
    csv.write_text("path,label,person\na.png,happy,P1\n")
    assert "column 'person' is not used" in load_dataset(f"manifest:{csv}").notices[0]


# -- subject ids -------------------------------------------------------------------------
def test_subject_ids_compare_without_case_and_spacing_in_every_source(tmp_path):
    rows = [(f"img/{i}.png", "happy" if i % 2 else "sad", s) for i, s in enumerate(["KL", "kl ", " Kl", "KA", "KA"])]
    for rel, _, _ in rows:
        save(face(), tmp_path / rel)
    csv = tmp_path / "m.csv"
    csv.write_text("path,label,subject\n" + "".join(f"{r},{lab},{s}\n" for r, lab, s in rows))
    ds = load_dataset(f"manifest:{csv}")
    assert list(ds.samples["subject"]) == ["KL", "KL", "KL", "KA", "KA"]
    assert ds.subject_id_variants == {"KL": [" Kl", "KL", "kl "]}
    assert "taken as one person: ' Kl' = 'KL' = 'kl ' → 'KL'" in ds.report_lines()[0]
    root = jaffe_like(tmp_path / "j", people=("KA",))
    (root / "KA.AN1.1.tiff").rename(root / "ka.AN1.1.tiff")
    assert load_dataset(f"jaffe:{root}").subject_id_variants == {"KA": ["KA", "ka"]}


@pytest.mark.slow
def test_subject_id_case_through_the_cli(tmp_path):
    """Case subject-id-case: 'KL' and 'kl ' are one person, in one CV group, with a warning."""
    lines = ["path,label,subject"]
    for p, person in enumerate(["KA", "KL", "KM", "KR"]):
        for label in ("happy", "sad", "angry"):
            for k in range(3):
                rel = f"img/{person}{label}{k}.png"
                save(face(p * 100 + k + 10 * len(label)), tmp_path / rel)
                lines.append(f"{rel},{label},{'kl ' if person == 'KL' and k % 2 else person}")
    csv = tmp_path / "case.csv"
    csv.write_text("\n".join(lines) + "\n")
    out = tmp_path / "o"
    proc = cli(*run_args(f"manifest:{csv}", out, "--protocol", "subject", "--folds", "4"))
    assert "warning: subject ids that differ only in case or spacing were taken as one person: 'KL' = 'kl '" \
        in proc.stderr
    with sqlite3.connect(out / "results.sqlite") as conn:
        groups = conn.execute("SELECT subject, COUNT(DISTINCT grp) FROM samples JOIN splits USING (idx) "
                              "GROUP BY subject").fetchall()
    assert sorted(groups) == [("KA", 1), ("KL", 1), ("KM", 1), ("KR", 1)]
    assert json.loads((out / "run.json").read_text())["dataset"]["subject_id_variants"] == {"KL": ["KL", "kl "]}


# -- leakage -----------------------------------------------------------------------------
@pytest.mark.slow
def test_reencoded_copies_are_reported_like_byte_copies(tmp_path, tiny_folder):
    """Case reencoded-duplicates: a PNG re-saved as TIFF has other bytes, the same pixels."""
    for name in ("happy/000.png", "sad/003.png", "angry/001.png"):
        src = tiny_folder / name
        Image.open(src).save(src.with_name("copy_" + src.stem + ".tiff"))
    out = tmp_path / "o"
    proc = cli(*run_args(f"folder:{tiny_folder}", out))
    assert "warning: 3 groups of identical images (same bytes or same decoded pixels)" in proc.stderr
    assert "span more than one CV group in run 1" in proc.stderr
    board = (out / "leaderboard.md").read_text()
    assert "3 groups of identical images" in board and "`happy/copy_000.tiff`" in board
    assert ["happy/000.png", "happy/copy_000.tiff"] in json.loads((out / "run.json").read_text())["duplicates"]


@pytest.mark.slow
def test_every_pca_method_runs_on_a_set_of_copies(tmp_path, tiny_folder):
    """Case reencoded-duplicates, the methods: with every image present twice the data's rank is
    half the images, so PCA with more components than that must drop the empty directions
    (whitening them gave ~1e295 and an SVM crash), not fail."""
    for path in sorted(tiny_folder.rglob("*.png")):
        Image.open(path).save(path.with_name("copy_" + path.stem + ".tiff"))
    out = tmp_path / "o"
    cli("run", "--methods", "pca-svm:n_components=200,hos-svm,dwt-pca-cso:n_components=200,fitness_budget=20000",
        "--dataset", f"folder:{tiny_folder}", "--runs", "1", "--folds", "3", "--face", "none", "--out", str(out), "-q")
    table3 = pd.read_csv(out / "table3.csv")
    assert len(table3) == 3 and table3["oa_mean"].notna().all()


def test_snapshot_pca_drops_directions_without_variance():
    from fer_bench_baselines.selection import SnapshotPCA

    X = np.random.default_rng(0).random((15, 256))
    Z = SnapshotPCA(40).fit_transform(np.vstack([X, X]))
    assert Z.shape == (30, 14) and np.isfinite(Z).all() and np.abs(Z).max() < 10


def test_duplicates_spanning_groups():
    groups = np.array([0, 0, 1, 2, 2, 1])
    assert duplicates_spanning_groups([[0, 1], [2, 3], [4, 5, 3]], groups) == [[2, 3], [4, 5, 3]]
    ids = ["a", "b", "c", "d", "e", "f"]
    assert duplicates_spanning_groups([["a", "b"], ["c", "f"], ["d", "e"]], groups, ids) == []
    assert duplicates_spanning_groups([["a", "c"]], groups, ids) == [["a", "c"]]


# -- results directory -------------------------------------------------------------------
@pytest.mark.slow
def test_results_dir_without_finished_fold_takes_a_corrected_dataset(tmp_path, tiny_folder):
    """A run stopped before its first fold leaves a store; the corrected dataset re-runs there."""
    from fer_bench.store import ResultsStore

    first = load_dataset(f"folder:{tiny_folder}")
    out = tmp_path / "o"
    with ResultsStore(out) as store:
        store.initialise({"dataset_fingerprint": first.fingerprint, "protocol": "paper", "folds": 3, "runs": 1,
                          "seed": 0, "refit": True, "selection": "validation", "face": None, "several_faces": "largest",
                          "classes": first.classes}, first.samples,
                         {0: np.zeros(len(first), dtype=int)})
    (tiny_folder / "happy" / "000.png").unlink()  # the user repairs the dataset
    proc = cli(*run_args(f"folder:{tiny_folder}", out))
    assert "held no finished fold of its earlier configuration (dataset_fingerprint differed)" in proc.stderr
    assert "taking it over" in proc.stderr
    with sqlite3.connect(out / "results.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 35
    # once a fold is stored, another configuration is refused as before
    proc = cli(*run_args(f"folder:{tiny_folder}", out, "--seed", "1"), check=False)
    assert "another configuration" in one_line_error(proc)


def test_datasets_listing_is_plain_text():
    out = cli("datasets").stdout
    assert "``" not in out and "KA.AN1.39.tiff" in out


# -- labels ------------------------------------------------------------------------------
def test_label_spellings_from_other_labs(tmp_path):
    from fer_bench.labels import canonical_label

    assert canonical_label("Ｈａｐｐｙ") == "happiness"  # full-width, as some CJK keyboards type
    assert canonical_label("Sur-prised ") == "surprise"
    with pytest.raises(DatasetError, match=r"'suprise'.*did you mean 'surprise' \(surprise\)"):
        canonical_label("suprise")
    with pytest.raises(DatasetError, match="numeric codes differ between datasets"):
        canonical_label("3")
    for name in ("neutral", "joy", "happy"):
        save(face(), tmp_path / "f" / name / "0.png")
    notes = load_dataset(f"folder:{tmp_path / 'f'}").report_lines()
    assert "note: class folders 'happy' and 'joy' are all read as class 'happiness'" in notes


def test_a_word_of_another_language_is_not_taken_for_a_short_code():
    """German *Angst* (fear) used to get "did you mean 'ang' (anger)?": a user who followed
    it would have labelled a whole class wrong. Suggestions may drop one letter, not two."""
    from fer_bench.labels import canonical_label, suggestion

    with pytest.raises(DatasetError) as refused:
        canonical_label("Angst", where="folder name x/Angst")
    assert "did you mean" not in str(refused.value) and "extra_classes" in str(refused.value)
    assert suggestion("angst") == []
    for typo, meant in (("hapy", "happy"), ("sadd", "sad"), ("nuetral", "neutral"), ("angy", "angry"),
                        ("fearfull", "fearful"), ("contemp", "contempt")):
        assert suggestion(typo) == [meant]


def test_calm_is_its_own_class_only_when_declared(tmp_path):
    """RAVDESS keeps neutral and calm apart; "calm" used to be merged into neutral with
    only a note. Now it is refused until declared, and then kept as a class of its own."""
    for name in ("neutral", "calm", "happy"):
        for i in range(3):
            save(face(i), tmp_path / "f" / name / f"{i}.png")
    with pytest.raises(DatasetError, match=r"unknown expression label 'calm'.*extra_classes"):
        load_dataset(f"folder:{tmp_path / 'f'}")
    ds = load_dataset(f"folder:{tmp_path / 'f'}?extra_classes=Calm|pain")
    assert ds.classes == ["happiness", "neutral", "calm"] and list(ds.samples["label"]).count("calm") == 3
    assert ds.spec.endswith("?extra_classes=calm|pain")
    csv = tmp_path / "m.csv"
    csv.write_text("path,label\n" + "".join(f"f/{n}/{i}.png,{n}\n" for n in ("calm", "neutral") for i in range(3)))
    ds = load_dataset(f"manifest:{csv}?extra_classes=calm")
    assert ds.classes == ["neutral", "calm"] and ds.spec == f"manifest:{csv}?extra_classes=calm"
    with pytest.raises(DatasetError, match=r"'happy' is already read as class 'happiness'"):
        load_dataset(f"folder:{tmp_path / 'f'}?extra_classes=happy|calm")
    with pytest.raises(DatasetError, match="given twice"):
        load_dataset(f"folder:{tmp_path / 'f'}?extra_classes=calm|CALM")


def test_declared_class_through_the_cli(tmp_path):
    for name in ("neutral", "calm", "happy"):
        for i in range(4):
            save(face(10 * i + len(name)), tmp_path / "f" / name / f"{i}.png")
    out = tmp_path / "out"
    proc = cli("run", "--methods", "pca-svm", "--dataset", f"folder:{tmp_path / 'f'}?extra_classes=calm", "--runs",
               "1", "--folds", "3", "--face", "none", "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    assert "| run | happiness | neutral | calm |" in (out / "table1_pca-svm.md").read_text()
    assert json.loads((out / "run.json").read_text())["dataset"]["classes"] == {"happiness": 4, "neutral": 4, "calm": 4}


def test_kdef_person_folders_given_as_folder_suggest_kdef(tmp_path):
    for name in ("AF01ANS.JPG", "AF01HAS.JPG", "AM02SAS.JPG"):
        save(face(), tmp_path / "KDEF" / name[:4] / name, format="JPEG")
    with pytest.raises(DatasetError, match=rf"unknown expression label 'AM02'.*use kdef:{tmp_path / 'KDEF'}"):
        load_dataset(f"folder:{tmp_path / 'KDEF'}")
    assert len(load_dataset(f"kdef:{tmp_path / 'KDEF'}")) == 3


def test_manifest_written_on_windows_finds_files_ignoring_case_and_flags_missing_subjects(tmp_path):
    save(face(1), tmp_path / "img" / "a.png")
    save(face(2), tmp_path / "img" / "B.png")
    csv = tmp_path / "m.csv"
    csv.write_text("path,label,subject\nIMG\\A.PNG,happy,P1\nimg/b.png,sad,\n")
    ds = load_dataset(f"manifest:{csv}")
    assert list(ds.samples["sample_id"]) == ["img/B.png", "img/a.png"]
    lines = ds.report_lines()
    assert any("2 paths in manifest m.csv match a file only when case is ignored" in n for n in lines)
    assert any(f"manifest {csv} has no subject id on 1 of its 2 rows (line 3)" in n for n in lines)
    save(face(3), tmp_path / "img" / "b.png")  # now two files match 'img/b.png' ignoring case: exact one wins
    assert "img/b.png" in set(load_dataset(f"manifest:{csv}").samples["sample_id"])


def test_identical_images_with_different_labels_are_flagged(tiny_folder):
    import shutil

    shutil.copy(tiny_folder / "happy" / "004.png", tiny_folder / "sad" / "same_face.png")
    ds = load_dataset(f"folder:{tiny_folder}")
    assert ("warning: 1 groups of identical images carry different labels (one of them is mislabelled), "
            "e.g. happy/004.png (happiness), sad/same_face.png (sadness)") in ds.report_lines()
    assert ds.summary()["identical_images_with_different_labels"] == [
        [["happy/004.png", "happiness"], ["sad/same_face.png", "sadness"]]]


def test_unreadable_file_message_names_the_file_not_a_buffer(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"<html>404 Not Found</html>")  # a download that went wrong
    with pytest.raises(DatasetError, match=r"cannot decode image .*x.png: not an image Pillow can read") as info:
        decode(path)
    assert "BytesIO" not in str(info.value)
