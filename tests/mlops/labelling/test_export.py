"""The export of the labelled set as an ImageFolder, and its round trip through ``train``."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mlops.datasets import dataset_scan
from mlops.labelling.models import Label
from mlops.labelling.services import label_record
from mlops.mlflow_store import registry
from predictions.services import prediction_feedback_set
from tests.mlops.shapes import SHAPES
from tests.support.labelled import labelled_shapes_make, staff_user

pytestmark = pytest.mark.django_db

TINY_RECIPE = ["--image-size", "64", "--views", "1", "--head-epochs", "15", "--epochs", "0", "--unfreeze-blocks", "0"]
TINY_MACHINE = ["--batch-size", "32", "--threads", "2", "--workers", "0", "--time-budget-minutes", "5"]


def test_the_export_writes_one_folder_per_food_with_the_standing_label_and_a_manifest(tmp_path):
    labels = labelled_shapes_make(per_class=3, shapes=("red_disc", "blue_square"))
    relabelled = labels[0].prediction  # a red disc a second staff member calls a blue square: the latest label stands
    label_record(prediction=relabelled, source=Label.Source.STAFF_QUEUE, user=staff_user("second"), food_key="blue_square")
    not_food = labels[1].prediction
    label_record(prediction=not_food, source=Label.Source.STAFF_QUEUE, user=staff_user("second"), not_food=True)
    out = tmp_path / "export"

    call_command("export_labels", "--out", str(out), stdout=io.StringIO())

    assert sorted(path.name for path in (out / "red_disc").iterdir()) == sorted(f"{label.prediction_id}.jpg" for label in labels[2:3])
    assert f"{relabelled.pk}.jpg" in {path.name for path in (out / "blue_square").iterdir()}
    assert len(list((out / "blue_square").iterdir())) == 4
    assert not (out / "no_food").exists()
    manifest = json.loads((out / "labels.json").read_text())
    assert {item["prediction_id"] for item in manifest["images"]} == {label.prediction_id for label in labels} - {not_food.pk}


def test_the_export_refuses_a_folder_that_holds_files(tmp_path):
    (tmp_path / "old.txt").write_text("keep me")
    with pytest.raises(CommandError, match="not an empty folder"):
        call_command("export_labels", "--out", str(tmp_path), stdout=io.StringIO())
    assert (tmp_path / "old.txt").read_text() == "keep me"


def test_user_feedback_is_exported_beside_staff_labels(tmp_path):
    labels = labelled_shapes_make(per_class=2, shapes=("red_disc", "blue_square"))
    Label.objects.filter(pk=labels[0].pk).delete()
    prediction_feedback_set(prediction=labels[0].prediction, correct=False, food_key="red_disc")

    call_command("export_labels", "--out", str(tmp_path / "export"), stdout=io.StringIO())

    assert (tmp_path / "export" / "red_disc" / f"{labels[0].prediction_id}.jpg").is_file()


@pytest.mark.integration
@pytest.mark.slow
def test_the_export_round_trips_through_train(tmp_path, mlflow_client):
    labelled_shapes_make(per_class=8)
    out = tmp_path / "export"
    call_command("export_labels", "--out", str(out), stdout=io.StringIO())
    assert dataset_scan(out).class_names == sorted(SHAPES)

    said = io.StringIO()
    call_command("train", str(out), *TINY_RECIPE, *TINY_MACHINE, stdout=said, verbosity=0)

    challenger = registry.alias_resolve("challenger")
    assert "stratified split: 4 classes, 24 training and 8 test photos" in said.getvalue()
    run = mlflow_client.get_run(challenger.run_id)
    assert run.data.metrics["accuracy"] >= 0.5  # chance is 0.25
