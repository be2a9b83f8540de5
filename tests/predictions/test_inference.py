"""The real EfficientNet-Lite0 on real photos from the scikit-image wheel."""

import io
from dataclasses import replace

import numpy as np
import pytest
import torch
from django.conf import settings as django_settings
from PIL import Image

from predictions.inference import (
    FoodClassifier,
    Manifest,
    ModelIncompatible,
    WeightsCorrupt,
    WeightsMissing,
    build_efficientnet_lite0,
    bundled_network,
    bundled_weights_path,
    imagenet_manifest,
    sha256_file,
)
from predictions.serving import load_bundled_model


@pytest.fixture(scope="module")
def classifier() -> FoodClassifier:
    # As serving does: more threads than half the cores stall each other when other processes want the cores too
    # (this module took 63 s with 2 threads and 5 s with 1 on a busy 2-core machine).
    torch.set_num_threads(django_settings.NUTRILEARN_TORCH_THREADS)
    return load_bundled_model().classifier


def recognise(classifier, data: bytes):
    image = Image.open(io.BytesIO(data)).convert("RGB")
    return classifier.recognise(image, food_mass_threshold=0.1, top_k=5)


def test_coffee_photo_is_an_espresso(classifier, coffee_png):
    result = recognise(classifier, coffee_png)

    assert result.no_food is False
    assert result.food_key == "espresso"
    assert result.confidence > 0.8
    assert [score.key for score in result.top_k][:2] == ["espresso", "cup"]
    assert sum(score.confidence for score in result.top_k) <= 1.0 + 1e-6


def test_the_served_network_computes_what_the_published_network_computes(classifier, coffee_png, cat_png, astronaut_png):
    """Serving runs batch norm folded into the convolutions, channels-last: the same function, up to float rounding."""
    published = bundled_network()
    photos = [Image.open(io.BytesIO(data)).convert("RGB") for data in (coffee_png, cat_png, astronaut_png)]
    batch = torch.stack([classifier.preprocess(photo) for photo in photos])

    served, _ = classifier.logits(batch)
    with torch.inference_mode():
        reference = published(batch)

    assert not any(isinstance(module, torch.nn.BatchNorm2d) for module in classifier.network.modules())
    assert (served - reference).abs().max() < 1e-3 * reference.abs().max()
    assert torch.equal(served.argsort(dim=1, descending=True)[:, :5], reference.argsort(dim=1, descending=True)[:, :5])
    assert torch.allclose(served.softmax(dim=1), reference.softmax(dim=1), atol=1e-5)


def test_cat_photo_is_no_food(classifier, cat_png):
    result = recognise(classifier, cat_png)

    assert result.no_food is True
    assert result.food_key is None
    assert result.food_mass < 0.1


def test_astronaut_photo_is_no_food(classifier, astronaut_png):
    assert recognise(classifier, astronaut_png).no_food is True


def test_threshold_decides_no_food(classifier, coffee_png):
    image = Image.open(io.BytesIO(coffee_png)).convert("RGB")

    assert classifier.recognise(image, food_mass_threshold=0.99, top_k=5).no_food is True


def test_embedding_is_compact_and_normalised(classifier, coffee_png):
    embedding = recognise(classifier, coffee_png).embedding

    assert embedding.shape == (64,)
    assert embedding.dtype == np.float32
    assert np.linalg.norm(embedding) == pytest.approx(1.0, abs=1e-4)


def test_tableware_counts_as_evidence_of_food(classifier):
    probabilities = torch.zeros(1000)
    probabilities[923] = 0.6  # plate
    probabilities[963] = 0.05  # pizza
    probabilities[281] = 0.35  # tabby cat
    result = classifier.interpret(probabilities, torch.zeros(1280), food_mass_threshold=0.1, top_k=3)

    assert result.no_food is False
    assert result.food_key == "pizza"
    assert result.confidence == pytest.approx(1.0)
    assert result.food_mass == pytest.approx(0.65)


def test_wrong_sha256_is_refused(tmp_path):
    weights = bundled_weights_path()
    manifest = imagenet_manifest("0" * 64)

    with pytest.raises(WeightsCorrupt, match="does not match"):
        FoodClassifier.load(manifest, weights)


def test_missing_weights_are_named(tmp_path):
    with pytest.raises(WeightsMissing):
        FoodClassifier.load(imagenet_manifest(""), tmp_path / "nothing.pt")


def test_garbage_weights_are_corrupt(tmp_path):
    path = tmp_path / "weights.pt"
    path.write_bytes(b"not a state dict at all")

    with pytest.raises(WeightsCorrupt):
        FoodClassifier.load(imagenet_manifest(sha256_file(path)), path)


def test_weights_of_another_shape_are_incompatible(tmp_path):
    state = torch.load(bundled_weights_path(), weights_only=True)
    path = tmp_path / "weights.pt"
    torch.save(state, path)
    manifest = Manifest(architecture="efficientnet-lite0", class_names=["a", "b"], food_indices=[0, 1], weights_sha256=sha256_file(path))

    with pytest.raises(ModelIncompatible, match="do not fit"):
        FoodClassifier.load(manifest, path)


def test_manifest_round_trips_and_validates():
    manifest = imagenet_manifest("abc")

    assert Manifest.from_json(manifest.to_json()) == manifest
    with pytest.raises(ModelIncompatible):
        Manifest.from_json('{"architecture": "resnet-9000", "class_names": ["a"], "food_indices": [0]}')
    with pytest.raises(ModelIncompatible):
        Manifest.from_json('{"architecture": "efficientnet-lite0", "class_names": ["a"], "food_indices": [3]}')


@pytest.mark.parametrize(
    "photo", ["camera.png", "rocket.jpg", "motorcycle_left.png", "coins.png", "horse.png", "hubble_deep_field.jpg", "brick.png"]
)
def test_other_real_photos_without_food_are_no_food(classifier, photo):
    from tests.conftest import SKIMAGE_DATA

    assert recognise(classifier, (SKIMAGE_DATA / photo).read_bytes()).no_food is True


def test_food_keys_are_ascii_slugs():
    from predictions.inference import food_key

    assert food_key("French loaf") == "french_loaf"
    assert food_key("Crème brûlée ") == "creme_brulee"
    assert food_key("Granny Smith") == "granny_smith"


def test_mirrored_forward_averages_each_photo_with_its_mirror_image(classifier, coffee_png, cat_png):
    batch = torch.stack([classifier.preprocess(Image.open(io.BytesIO(data)).convert("RGB")) for data in (coffee_png, cat_png)])

    averaged, pooled = classifier.forward(batch, mirrored=True)

    plain, plain_pooled = classifier.forward(batch)
    mirror, mirror_pooled = classifier.forward(batch.flip(-1))
    assert not torch.allclose(plain, mirror, atol=1e-3)  # the mirror image is not the same input for the network
    assert torch.allclose(averaged, (plain + mirror) / 2, atol=1e-5)
    assert torch.allclose(pooled, (plain_pooled + mirror_pooled) / 2, atol=1e-4)


def test_the_served_classifier_divides_its_logits_by_the_manifests_temperature(classifier, coffee_png, cat_png):
    batch = torch.stack([classifier.preprocess(Image.open(io.BytesIO(data)).convert("RGB")) for data in (coffee_png, cat_png)])
    softened = FoodClassifier(classifier.network, replace(classifier.manifest, temperature=2.0))

    logits, _ = classifier.logits(batch)
    plain, _ = classifier.forward(batch)
    calibrated, _ = softened.forward(batch)

    assert torch.allclose(plain, logits.softmax(dim=1), atol=1e-6)
    assert torch.allclose(calibrated, (logits / 2.0).softmax(dim=1), atol=1e-6)
    assert torch.equal(calibrated.argsort(dim=1, descending=True)[:, :5], plain.argsort(dim=1, descending=True)[:, :5])
    image = Image.open(io.BytesIO(coffee_png)).convert("RGB")
    before, after = classifier.recognise(image, food_mass_threshold=0.0), softened.recognise(image, food_mass_threshold=0.0)
    assert after.food_key == before.food_key
    assert after.confidence < before.confidence


def test_a_manifest_without_a_temperature_serves_at_one_and_a_bad_temperature_is_refused():
    stored = imagenet_manifest("abc").to_json().replace('"temperature": 1.0', '"temperature": 1.5')
    older = '{"architecture": "efficientnet-lite0", "class_names": ["a", "b"], "food_indices": [0, 1]}'

    assert Manifest.from_json(stored).temperature == 1.5
    assert Manifest.from_json(older).temperature == 1.0
    for bad in ("0", "-1", '"warm"', "NaN"):
        with pytest.raises(ModelIncompatible, match="temperature"):
            Manifest.from_json(older[:-1] + f', "temperature": {bad}}}')


@pytest.mark.parametrize("size", [(1024, 768), (768, 1024), (256, 256), (4000, 3000), (200, 150), (225, 1000)])
def test_preprocessing_matches_torchvisions_transform_exactly(size):
    from torchvision.transforms import v2

    manifest = imagenet_manifest("")
    classifier = FoodClassifier(build_efficientnet_lite0(manifest.num_classes), manifest)
    torchvision_transform = v2.Compose([
        v2.ToImage(),
        v2.Resize(manifest.resize_size, antialias=True),
        v2.CenterCrop(manifest.input_size),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(manifest.mean, manifest.std),
    ])  # fmt: skip
    pixels = np.random.default_rng(sum(size)).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels, mode="RGB")

    assert torch.equal(classifier.preprocess(image), torchvision_transform(image))


def test_the_imagenet_manifest_names_the_thousand_classes_in_torchvisions_order():
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    assert imagenet_manifest("").class_names == list(_IMAGENET_CATEGORIES)
