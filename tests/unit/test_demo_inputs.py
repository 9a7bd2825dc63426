"""Which files `scripts/invoke_local.sh PATH...` uploads, and under which names."""

from pathlib import Path

import pytest

from scripts.local.demo import collect_inputs


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_folders_give_their_images_by_relative_path_and_files_by_name(tmp_path):
    # GIVEN a folder with images, a text file and a hidden file, and a file named directly
    photos = tmp_path / "photos"
    for name in ("trip/sea.jpg", "trip/deep/Dune.JPEG", "logo.png", "notes.txt", ".cover.jpg"):
        _touch(photos / name)
    scan = _touch(tmp_path / "scan")  # no suffix, but asked for by name

    # WHEN the inputs are collected
    inputs = collect_inputs([photos, scan])

    # THEN the folder's images keep their relative paths; the named file is taken as it is
    assert inputs == {
        "logo.png": photos / "logo.png",
        "trip/deep/Dune.JPEG": photos / "trip/deep/Dune.JPEG",
        "trip/sea.jpg": photos / "trip/sea.jpg",
        "scan": scan,
    }


def test_two_files_that_would_overwrite_each_other_are_refused(tmp_path):
    first, second = _touch(tmp_path / "a/photo.jpg"), _touch(tmp_path / "b/photo.jpg")
    with pytest.raises(SystemExit, match=r"same key 'photo\.jpg'"):
        collect_inputs([first, second])


def test_missing_paths_and_empty_folders_are_refused(tmp_path):
    with pytest.raises(SystemExit, match="no such file or folder"):
        collect_inputs([tmp_path / "nope"])
    with pytest.raises(SystemExit, match="no images found"):
        collect_inputs([tmp_path])


def test_a_folder_gives_images_without_a_suffix_and_names_what_it_skips(tmp_path, capsys):
    # GIVEN a folder with a JPEG and a PNG that have no image suffix (a camera dump, a download)
    # next to a text file and a PDF
    folder = tmp_path / "dump"
    folder.mkdir()
    (folder / "IMG_0001").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 60)
    (folder / "download.bin").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 60)
    (folder / "notes.txt").write_text("not a picture")
    (folder / "scan.pdf").write_bytes(b"%PDF-1.7\n")

    # WHEN the inputs are collected
    inputs = collect_inputs([folder])

    # THEN the images are taken, recognised by their bytes as the function does
    assert inputs == {"IMG_0001": folder / "IMG_0001", "download.bin": folder / "download.bin"}
    # AND the skipped files are named, not dropped silently
    err = capsys.readouterr().err
    assert "skipped 2 file(s)" in err
    assert str(folder / "notes.txt") in err
    assert str(folder / "scan.pdf") in err
