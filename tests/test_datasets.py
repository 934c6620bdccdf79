"""Dataset sources, labels, fingerprints and the bad inputs they must name."""

import numpy as np
import pytest

from fer_bench import load_dataset
from fer_bench.errors import DatasetError
from fer_bench.labels import canonical_label
from tests.conftest import write_images


@pytest.mark.parametrize(
    "raw,canonical",
    [("angry", "anger"), ("AN", "anger"), ("AN1", "anger"), ("Happy", "happiness"), ("HA", "happiness"),
     ("sad", "sadness"), ("surprised", "surprise"), ("SU", "surprise"), ("AF", "fear"), ("fearful", "fear"),
     ("contempt", "contempt"), (" Neutral ", "neutral"), ("DI", "disgust")],
)
def test_common_spellings(raw, canonical):
    assert canonical_label(raw) == canonical


def test_unknown_label_is_named():
    with pytest.raises(DatasetError, match="'bored'.*somewhere"):
        canonical_label("bored", where="somewhere")


def test_jaffe_names_people_and_keeps_NA(jaffe_path):
    ds = load_dataset(f"jaffe:{jaffe_path}")
    assert len(ds) == 213
    assert ds.classes == ["anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise"]
    people = set(ds.samples["subject"])
    assert len(people) == 10 and "NA" in people  # the person coded NA is not a missing value
    row = ds.samples[ds.samples["sample_id"] == "KA.AN1.39.tiff"].iloc[0]
    assert (row.label, row.subject) == ("anger", "KA")
    assert ds.has_subjects
    image = ds.read_image(0)
    assert image.dtype == np.uint8 and image.shape == (256, 256)


def test_fingerprint_is_content_not_location(tmp_path, tiny_folder):
    import shutil

    a = load_dataset(f"folder:{tiny_folder}")
    copy = shutil.copytree(tiny_folder, tmp_path / "elsewhere")
    assert load_dataset(f"folder:{copy}").fingerprint == a.fingerprint
    # one changed pixel changes it
    from PIL import Image

    first = copy / a.samples.at[0, "sample_id"]
    img = np.asarray(Image.open(first)).copy()
    img[0, 0] ^= 1
    Image.fromarray(img).save(first)
    assert load_dataset(f"folder:{copy}").fingerprint != a.fingerprint


def test_folder_source(tiny_folder):
    ds = load_dataset(f"folder:{tiny_folder}")
    assert ds.classes == ["anger", "happiness", "sadness"]
    assert len(ds) == 36 and not ds.has_subjects


def test_manifest_source_keeps_NA_subject(na_manifest):
    """A person coded 'NA' is kept as the string 'NA' when the spec says so (?na_subjects=id);
    by default NA-like cells are a missing id (field reports 3, blank-subject-message)."""
    ds = load_dataset(f"manifest:{na_manifest}?na_subjects=id")
    assert len(ds) == 36
    assert sorted(set(ds.samples["subject"])) == ["KB", "KC", "KD", "NA"]
    assert ds.spec.endswith("?na_subjects=id")
    default = load_dataset(f"manifest:{na_manifest}")
    assert default.samples["subject"].isna().sum() == 9 and default.fingerprint != ds.fingerprint


def test_manifest_unknown_label_names_line(tmp_path, tiny_manifest):
    text = tiny_manifest.read_text().splitlines()
    text[3] = text[3].replace("happy", "bored")
    tiny_manifest.write_text("\n".join(text) + "\n")
    with pytest.raises(DatasetError, match=r"'bored' in .*labels.csv line 4"):
        load_dataset(f"manifest:{tiny_manifest}")


def test_manifest_missing_columns(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("file,emotion\na.png,happy\n")
    with pytest.raises(DatasetError, match="needs columns 'path' and 'label'"):
        load_dataset(f"manifest:{csv}")


def test_ckplus_layout(tmp_path):
    rows = [(f"{c}/S{p:03d}_001_0000001{i}.png", k) for k, c in enumerate(["anger", "contempt", "happy"])
            for p in (5, 10) for i in range(2)]
    root = write_images(tmp_path / "ck", rows)
    ds = load_dataset(f"ckplus:{root}")
    assert ds.classes == ["anger", "happiness", "contempt"]
    assert set(ds.samples["subject"]) == {"S005", "S010"}


def test_kdef_layout_frontal_only_by_default(tmp_path):
    rows = [(f"{s}F01/{s}F01{e}{pose}.JPG".replace("JPG", "png"), k) for k, e in enumerate(["AF", "HA"])
            for s in "AB" for pose in ("S", "HL")]
    root = write_images(tmp_path / "kdef", rows)
    # KDEF ships JPEGs; name them so
    for p in root.rglob("*.png"):
        p.rename(p.with_suffix(".JPG"))
    ds = load_dataset(f"kdef:{root}")
    assert len(ds) == 4 and set(ds.samples["subject"]) == {"F01"}
    assert ds.classes == ["fear", "happiness"]
    assert len(load_dataset(f"kdef:{root}?poses=all")) == 8


def test_corrupt_image_is_named(tiny_folder):
    bad = tiny_folder / "happy" / "005.png"
    bad.write_bytes(b"not an image at all")
    ds = load_dataset(f"folder:{tiny_folder}")
    index = ds.samples.index[ds.samples["sample_id"] == "happy/005.png"][0]
    with pytest.raises(DatasetError, match=r"cannot decode image .*happy/005.png"):
        ds.read_image(index)


def test_empty_dataset(tmp_path):
    (tmp_path / "empty" / "happy").mkdir(parents=True)
    with pytest.raises(DatasetError, match="empty"):
        load_dataset(f"folder:{tmp_path / 'empty'}")


def test_unknown_source_and_missing_path(tmp_path):
    with pytest.raises(DatasetError, match="unknown dataset source 'jafe'.*jaffe"):
        load_dataset("jafe:/x")
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(f"jaffe:{tmp_path / 'nope'}")
    with pytest.raises(DatasetError, match="folder:"):
        load_dataset(str(tmp_path))


def test_synthetic_options_and_duplicates(tmp_path, tiny_folder):
    ds = load_dataset("synthetic?subjects=3&per_expression=1&size=64")
    assert len(ds) == 21 and ds.read_image(0).shape == (64, 64)
    assert ds.spec == "synthetic?subjects=3&per_expression=1&size=64"
    with pytest.raises(DatasetError, match="unknown option 'people'"):
        load_dataset("synthetic?people=3")
    import shutil

    shutil.copy(tiny_folder / "happy" / "000.png", tiny_folder / "happy" / "copy.png")
    groups = load_dataset(f"folder:{tiny_folder}").duplicate_groups()
    assert groups == [["happy/000.png", "happy/copy.png"]]
