"""Loaders and batches: file readers, TFDS builders, a mocked catalogue set, the iterator."""

import gzip
import struct

import numpy as np
import pytest
import tensorflow_datasets as tfds

from gensys.data import batches, datasets, local_files
from tests.conftest import shared_data, write_cifar10


def write_amat(path, images, compress):
    text = "\n".join(" ".join(str(int(v)) for v in im.ravel()) for im in images) + "\n"
    with (gzip.open if compress else open)(path, "wt") as f:
        f.write(text)


def write_idx(path, array, compress):
    codes = {np.dtype(np.uint8): 0x08}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(header + array.tobytes())


@pytest.mark.parametrize("compress", [False, True])
def test_read_amat(tmp_path, compress):
    images = np.random.default_rng(0).integers(0, 2, (5, 28, 28), dtype=np.uint8)
    path = tmp_path / ("x.amat.gz" if compress else "x.amat")
    write_amat(path, images, compress)
    got = local_files.read_amat(path)
    assert got.shape == (5, 28, 28, 1) and got.dtype == np.uint8
    np.testing.assert_array_equal(got[..., 0], images)


def test_read_amat_rejects_other_text(tmp_path):
    path = tmp_path / "bad.amat"
    path.write_text("0 1 0.5\n")
    with pytest.raises(ValueError, match="not a binarized-MNIST .amat file"):
        local_files.read_amat(path)


def test_read_amat_names_the_file_and_line_of_each_fault(tmp_path):
    line = " ".join(["0"] * 784)
    path = tmp_path / "ragged.amat"
    # 783 values then 785: the total is right, so only a per-line check sees the shift.
    path.write_text(f"{line}\n{line[:-2]}\n{line} 1\n{line}\n")
    with pytest.raises(ValueError, match=r"ragged.amat, line 2: 783 values, expected 784 "
                                         r"\(28x28\); 2 line\(s\) are wrong"):  # fmt: skip
        local_files.read_amat(path)
    path.write_text(f"{line}\n{line}\n0 1 0.5\n")
    with pytest.raises(ValueError, match=r"line 3: not a binarized-MNIST .amat file \(character"):
        local_files.read_amat(path)
    path.write_text("\n\n")
    with pytest.raises(ValueError, match="holds no images"):
        local_files.read_amat(path)
    # A truncated .gz (a download cut short) is a damaged file, named.
    write_amat(tmp_path / "cut.amat.gz", np.zeros((50, 28, 28), np.uint8), True)
    data = (tmp_path / "cut.amat.gz").read_bytes()
    (tmp_path / "cut.amat.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut.amat.gz is a damaged gzip file \(EOFError"):
        local_files.read_amat(tmp_path / "cut.amat.gz")
    corrupt = bytearray(data)
    corrupt[len(data) // 2 : len(data) // 2 + 8] = b"\xff" * 8
    (tmp_path / "bad.amat.gz").write_bytes(bytes(corrupt))
    with pytest.raises(ValueError, match=r"bad.amat.gz is a damaged gzip file"):
        local_files.read_amat(tmp_path / "bad.amat.gz")


def test_mnist_idx_builder_names_an_out_of_range_label(tmp_path, data_cache):
    # Before, the out-of-range label surfaced as ~800 lines of the example's pixels.
    labels = np.array([3, 1, 12, 4], np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((4, 28, 28), np.uint8), False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels, False)
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte, record 2: label 12 is outside"):
        datasets.load_split("mnist_idx", "test", data_dir=tmp_path, cache_dir=data_cache)


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx(tmp_path, compress):
    images = np.random.default_rng(1).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    path = tmp_path / ("i.gz" if compress else "i")
    write_idx(path, images, compress)
    np.testing.assert_array_equal(local_files.read_idx(path), images)


def test_read_idx_rejects_truncated_and_bad_magic(tmp_path):
    path = tmp_path / "t"
    write_idx(path, np.zeros((3, 2), np.uint8), False)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(ValueError, match="IDX header says shape"):
        local_files.read_idx(path)
    path.write_bytes(b"\x01\x02\x08\x01")
    with pytest.raises(ValueError, match="bad magic"):
        local_files.read_idx(path)


def test_digits_builder(data_cache):
    train = datasets.load_split("digits", "train", cache_dir=data_cache)
    test = datasets.load_split("digits", "test", cache_dir=data_cache)
    assert len(train) == 1500 and len(test) == 297
    assert train.images.shape[1:] == (8, 8, 1) and train.images.max() == 16
    assert set(np.unique(train.labels)) == set(range(10))
    # The fixed split: no image is in both.
    train_rows = {im.tobytes() for im in train.images}
    assert sum(im.tobytes() in train_rows for im in test.images) < 5  # digits has a few duplicates
    sliced = datasets.load_split("digits", "train[:100]", cache_dir=data_cache)
    assert len(sliced) == 100


def test_binarized_mnist_builder_from_files(tmp_path, data_cache):
    rng = np.random.default_rng(2)
    train, valid = (rng.integers(0, 2, (n, 28, 28), dtype=np.uint8) for n in (6, 4))
    write_amat(tmp_path / "binarized_mnist_train.amat.gz", train, True)
    write_amat(tmp_path / "binarized_mnist_valid.amat", valid, False)
    got = datasets.load_split("binarized_mnist", "valid", data_dir=tmp_path, cache_dir=data_cache)
    assert len(got) == 4 and got.spec.num_levels == 2 and np.all(got.labels == -1)
    # TFDS stores records in its own order; the set of images is what must match.
    assert sorted(im.tobytes() for im in got.images[..., 0]) == sorted(im.tobytes() for im in valid)
    with pytest.raises(ValueError, match="no split 'test'"):
        datasets.load_split("binarized_mnist", "test", data_dir=tmp_path, cache_dir=data_cache)


def test_mnist_idx_builder_from_files(tmp_path, data_cache):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (9, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 9).astype(np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, True)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels, True)
    got = datasets.load_split("mnist_idx", "test", data_dir=tmp_path, cache_dir=data_cache)
    pairs = sorted(
        (im.tobytes(), lab) for im, lab in zip(got.images[..., 0], got.labels, strict=True)
    )
    assert pairs == sorted((im.tobytes(), int(lab)) for im, lab in zip(images, labels, strict=True))


@pytest.mark.parametrize("archive", [False, True])
def test_cifar10_builder_reads_the_binary_distribution(tmp_path, data_cache, archive):
    """Extracted batches or the .tar.gz: the red, green and blue planes become the last
    axis, the five training batches one split, each label with its image."""
    expected = write_cifar10(tmp_path, per_batch=2, num_test=3, archive=archive)
    for split, count in (("train", 10), ("test", 3)):
        got = datasets.load_split("cifar10_binary", split, data_dir=tmp_path, cache_dir=data_cache)
        assert len(got) == count and got.images.shape[1:] == (32, 32, 3)
        assert got.spec.num_levels == 256 and got.spec.num_classes == 10
        images, labels = expected[split]
        pairs = sorted(
            (im.tobytes(), int(lab)) for im, lab in zip(got.images, got.labels, strict=True)
        )
        assert pairs == sorted(
            (im.tobytes(), int(lab)) for im, lab in zip(images, labels, strict=True)
        )
    # The layout itself, on one record: byte 1 + 1024 c + 32 r + w is channel c, row r, column w.
    raw = (tmp_path / "cifar-10-batches-bin" / "test_batch.bin") if not archive else None
    if raw is not None:
        record = raw.read_bytes()[: local_files.CIFAR10_RECORD_BYTES]
        image, label = local_files.parse_cifar10_records(record, "one")
        assert label[0] == record[0] and image[0, 3, 5, 2] == record[1 + 2048 + 3 * 32 + 5]


def test_cifar10_reader_names_the_file_and_record_of_each_fault(tmp_path):
    write_cifar10(tmp_path)
    folder = tmp_path / "cifar-10-batches-bin"
    batch = folder / "data_batch_3.bin"
    good = batch.read_bytes()
    batch.write_bytes(good[:-100])  # truncated in its second record
    with pytest.raises(ValueError, match=r"data_batch_3.bin: 6,046 bytes .* record 1 is cut short"):
        local_files.read_cifar10(tmp_path)
    damaged = bytearray(good)
    damaged[local_files.CIFAR10_RECORD_BYTES] = 200  # the second record's label byte
    batch.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match=r"data_batch_3.bin, record 1: label byte 200"):
        local_files.read_cifar10(tmp_path)
    batch.unlink()
    with pytest.raises(FileNotFoundError, match=r"train split needs .* missing data_batch_3.bin"):
        local_files.read_cifar10(tmp_path)
    for path in folder.iterdir():
        path.unlink()
    with pytest.raises(FileNotFoundError, match="no CIFAR-10 binary files"):
        local_files.read_cifar10(tmp_path)
    write_cifar10(tmp_path / "packed", archive=True)
    archive = tmp_path / "packed" / "cifar-10-binary.tar.gz"
    archive.write_bytes(archive.read_bytes()[:-200])
    with pytest.raises(ValueError, match="damaged or truncated archive"):
        local_files.read_cifar10(tmp_path / "packed")


@pytest.mark.slow  # compile-heavy: in make test, not make test-fast
def test_shared_binarized_mnist_valid(data_cache):
    directory = shared_data("binarized_mnist")
    got = datasets.load_split("binarized_mnist", "valid", data_dir=directory, cache_dir=data_cache)
    assert len(got) == 10_000
    assert got.images.mean() == pytest.approx(0.13113, abs=5e-5)  # ../shared/data/README.md


def test_catalogue_dataset_through_mock_data(monkeypatch, tmp_path):
    monkeypatch.setattr(datasets, "source_reachable", lambda url, timeout=3.0: True)
    with tfds.testing.mock_data(num_examples=12):
        got = datasets.load_split("mnist", "train", data_dir=tmp_path, download=True)
    assert len(got) == 12 and got.images.shape == (12, 28, 28, 1)
    assert got.labels.min() >= 0 and got.labels.max() < 10


def _split(n=10, levels=17):
    images = (np.arange(n)[:, None, None, None] % levels * np.ones((1, 2, 2, 1))).astype(np.uint8)
    spec = datasets.DatasetSpec("builtin", "x", (2, 2, 1), levels, 10)
    return datasets.ArraySplit(images, np.arange(n, dtype=np.int32), spec, "x", "train")


def test_batches_scale_pad_and_mask():
    it = batches.BatchIterator(_split(10), 4, seed=0, shuffle=False)
    got = [next(it) for _ in range(3)]
    assert [b["mask"].sum() for b in got] == [4, 4, 2]
    last = got[2]
    assert last["image"].shape == (4, 2, 2, 1) and last["image"].dtype == np.float32
    np.testing.assert_array_equal(last["label"], [8, 9, -1, -1])
    np.testing.assert_allclose(last["image"][0], 2 * 8 / 16 - 1)
    assert np.all(last["image"][2:] == 0)
    assert it.get_state() == {"epoch": 1, "position": 0, "seed": 0}
    levels = batches.BatchIterator(_split(10), 4, seed=0, representation="levels")
    assert next(levels)["image"].dtype == np.int32


def test_iterator_is_deterministic_and_resumes():
    def labels(it, k):
        return [tuple(next(it)["label"]) for _ in range(k)]

    full = labels(batches.BatchIterator(_split(10), 4, seed=7), 8)
    first = batches.BatchIterator(_split(10), 4, seed=7)
    head = labels(first, 5)
    resumed = batches.BatchIterator(_split(10), 4, seed=7)
    resumed.set_state(first.get_state())
    assert head + labels(resumed, 3) == full
    assert full[:3] != full[3:6]  # each epoch has its own order
    other = labels(batches.BatchIterator(_split(10), 4, seed=8), 3)
    assert other != full[:3]


def test_random_flips_mirror_about_half_and_resume_the_same():
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (64, 4, 5, 3), dtype=np.uint8)
    spec = datasets.DatasetSpec("local", "x", (4, 5, 3), 256, None)
    data = datasets.ArraySplit(images, np.full(64, -1), spec, "x", "train")
    make = lambda: batches.BatchIterator(data, 16, seed=3, shuffle=False, random_flip=True)  # noqa: E731
    iterator = make()
    first = [next(iterator)["image"] for _ in range(6)]  # 1.5 epochs
    flipped = 0
    for b, batch in enumerate(first[:4]):
        plain = batches.to_model_input(images[16 * b : 16 * b + 16], 256, "float")
        mirrored = plain[:, :, ::-1]
        same = np.all(batch == plain, axis=(1, 2, 3))
        mirror = np.all(batch == mirrored, axis=(1, 2, 3))
        assert np.all(same | mirror)
        flipped += int(mirror.sum())
    assert 20 <= flipped <= 44, flipped  # of 64 coins
    resumed = make()
    resumed.set_state({"epoch": 1, "position": 0, "seed": 3})
    np.testing.assert_array_equal(next(resumed)["image"], first[4])
    # The next epoch draws new coins for the same images.
    assert not np.array_equal(first[4], first[0])
    plain_iterator = batches.BatchIterator(data, 16, seed=3, shuffle=False)
    np.testing.assert_array_equal(
        next(plain_iterator)["image"], batches.to_model_input(images[:16], 256, "float")
    )


def test_iterator_shards_per_process():
    whole = next(batches.BatchIterator(_split(10), 4, seed=1))
    parts = [
        next(batches.BatchIterator(_split(10), 4, seed=1, process_index=i, process_count=2))
        for i in range(2)
    ]
    np.testing.assert_array_equal(np.concatenate([p["label"] for p in parts]), whole["label"])


def test_iterator_errors():
    with pytest.raises(ValueError, match="multiple of the process count 2"):
        batches.BatchIterator(_split(), 3, seed=0, process_count=2)
    with pytest.raises(ValueError, match="representation must be one of"):
        batches.BatchIterator(_split(), 4, seed=0, representation="bits")
    it = batches.BatchIterator(_split(), 4, seed=0)
    with pytest.raises(ValueError, match="saved with seed 3"):
        it.set_state({"epoch": 0, "position": 0, "seed": 3})


def test_eval_batches_cover_the_split_once():
    seen = [
        lab
        for b in batches.eval_batches(_split(10), 4)
        for lab, m in zip(b["label"], b["mask"], strict=True)
        if m
    ]
    assert seen == list(range(10))


def test_full_batches_drop_the_remainder_and_oversized_batches_are_refused():
    # For networks with batch statistics: no padded example ever reaches a training step.
    it = batches.BatchIterator(_split(10), 4, seed=0, drop_remainder=True)
    assert it.batches_per_epoch == 2
    seen = [next(it) for _ in range(6)]  # three epochs
    assert all(b["mask"].sum() == 4 and (b["label"] >= 0).all() for b in seen)
    assert it.get_state() == {"epoch": 3, "position": 0, "seed": 0}
    # Each epoch draws a new permutation, so the dropped examples differ between epochs.
    assert len({int(x) for b in seen for x in b["label"]}) == 10
    with pytest.raises(
        ValueError,
        match=r"batch size 11 is larger than x/train \(10 examples\): set data.batch_size",
    ):
        batches.BatchIterator(_split(10), 11, seed=0)


def test_three_jobs_preparing_one_dataset_at_once_all_get_it(tmp_path):
    # Before, two of three crashed with FileExistsError on TFDS's final rename.
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = (
        f"import sys; sys.path.insert(0, {str(root)!r})\n"
        "from gensys.data import datasets\n"
        f"print(len(datasets.load_split('digits', 'train', cache_dir={str(tmp_path)!r})))\n"
    )
    jobs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]  # fmt: skip
    results = [job.communicate(timeout=300) for job in jobs]
    for job, (out, err) in zip(jobs, results, strict=True):
        assert job.returncode == 0 and out.split()[-1] == "1500", err[-2000:]
    assert not list(tmp_path.rglob("incomplete.*"))
