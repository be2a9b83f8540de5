"""Metrics shared by training and evaluation, and finding a labelled dataset's photos. No database, no MLflow."""

import pytest

from mlops.classification_metrics import classification_report, confusion_matrix_figure
from mlops.datasets import DatasetInvalid, dataset_scan, evaluation_samples

from .shapes import write_shapes_dataset


def test_report_computes_accuracy_and_macro_scores_by_hand():
    truth = ["pizza", "pizza", "pizza", "sushi", "sushi", "taco"]
    said = ["pizza", "pizza", "sushi", "sushi", None, "pizza"]

    report = classification_report(truth, said)

    assert report.accuracy == pytest.approx(3 / 6, abs=1e-6)
    # pizza: P 2/3, R 2/3; sushi: P 1/2, R 1/2; taco: P 0, R 0
    assert report.precision == pytest.approx((2 / 3 + 1 / 2 + 0) / 3, abs=1e-6)
    assert report.recall == pytest.approx((2 / 3 + 1 / 2 + 0) / 3, abs=1e-6)
    assert report.f1_score == pytest.approx((2 / 3 + 1 / 2 + 0) / 3, abs=1e-6)
    assert report.per_class["taco"].support == 1
    assert report.confusion.tolist() == [[2, 1, 0, 0], [0, 1, 0, 1], [1, 0, 0, 0]]


def test_confusion_matrix_figure_names_the_accuracy():
    figure = confusion_matrix_figure(classification_report(["a", "b"], ["a", "a"]))

    assert "0.500" in figure.axes[0].get_title()


def test_stratified_split_is_seeded_and_keeps_every_class_in_both_parts(tmp_path):
    root = write_shapes_dataset(tmp_path / "shapes", per_class=8, size=32)

    first = dataset_scan(root, test_fraction=0.25, seed=3)
    again = dataset_scan(root, test_fraction=0.25, seed=3)
    other = dataset_scan(root, test_fraction=0.25, seed=4)

    assert first == again
    assert first.test != other.test
    assert first.layout == "stratified split"
    assert sorted({sample.label for sample in first.test}) == [0, 1, 2, 3]
    assert first.counts() == {"classes": 4, "train_images": 24, "test_images": 8}


def test_train_and_test_folders_are_used_as_given(tmp_path):
    write_shapes_dataset(tmp_path / "data" / "train", per_class=5, size=32)
    write_shapes_dataset(tmp_path / "data" / "test", per_class=2, size=32, seed=1)

    split = dataset_scan(tmp_path / "data", max_classes=3, max_train_per_class=4)

    assert split.layout == "train/test folders"
    assert split.counts() == {"classes": 3, "train_images": 12, "test_images": 6}
    assert len(evaluation_samples(tmp_path / "data")) == 8  # the test folder, all four classes


def test_food_101_meta_files_give_the_official_split(tmp_path):
    root = tmp_path / "food-101"
    write_shapes_dataset(root / "images", per_class=4, size=32)
    for shape_dir in (root / "images").iterdir():
        for png in shape_dir.glob("*.png"):
            png.rename(png.with_suffix(".jpg"))
    (root / "meta").mkdir()
    names = sorted(folder.name for folder in (root / "images").iterdir())
    (root / "meta" / "train.txt").write_text("".join(f"{name}/00{i}\n" for name in names for i in (0, 1, 2)))
    (root / "meta" / "test.txt").write_text("".join(f"{name}/003\n" for name in names))

    split = dataset_scan(root)

    assert split.layout == "food-101 meta files"
    assert split.counts() == {"classes": 4, "train_images": 12, "test_images": 4}
    assert all(sample.path.name == "003.jpg" for sample in split.test)


def test_folder_with_one_class_is_not_a_dataset(tmp_path):
    write_shapes_dataset(tmp_path / "shapes", per_class=3, size=32)
    for extra in ["blue_square", "green_triangle", "yellow_cross"]:
        for path in (tmp_path / "shapes" / extra).iterdir():
            path.unlink()
        (tmp_path / "shapes" / extra).rmdir()

    with pytest.raises(DatasetInvalid, match="at least two"):
        dataset_scan(tmp_path / "shapes")
