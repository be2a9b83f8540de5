"""The caching pass of training: what it stores is what the network computes, however it is computed."""

from pathlib import Path

import numpy as np
import pytest
import torch
from django.conf import settings as django_settings
from torchvision.transforms import v2

from mlops.feature_cache import (
    AUGMENTED,
    CENTRE,
    MIRRORED,
    FeatureStore,
    ViewRecipe,
    cache_views,
    load_photo,
)
from predictions.inference import IMAGENET_MEAN, IMAGENET_STD, build_efficientnet_lite0
from predictions.lite_network import SplitNetwork, folded_copy, unfold_into

from .shapes import SHAPES, shape_image

CUT = 12
RECIPE = ViewRecipe(image_size=64, resize_size=73)


@pytest.fixture(scope="module")
def network(bundled_state_dict):
    # As serving does: more threads than half the cores stall each other when other processes want the cores too
    # (this module took 63 s with 2 threads and 5 s with 1 on a busy 2-core machine).
    torch.set_num_threads(django_settings.NUTRILEARN_TORCH_THREADS)
    network = build_efficientnet_lite0(1000)
    network.load_state_dict(bundled_state_dict)
    return network.eval()


def jpeg_photos(folder: Path, count: int) -> list[Path]:
    """Photo-sized JPEGs (512 x 384) of shapes, so that decoding takes Pillow's reduced-scale path as real photos do."""
    rng = np.random.default_rng(5)
    folder.mkdir()
    paths = []
    for index in range(count):
        kind, colour = list(SHAPES.values())[index % len(SHAPES)]
        path = folder / f"{index}.jpg"
        shape_image(kind, colour, rng, size=384).resize((512, 384)).save(path, quality=85)
        paths.append(path)
    return paths


def store_for(network, views: int, photos: int, *, on_disk: bool = False) -> FeatureStore:
    with torch.inference_mode():
        shape = SplitNetwork(network, CUT).trunk(torch.zeros(1, 3, 64, 64)).shape[1:]
    return FeatureStore(views, photos, shape, network._fc.in_features, on_disk=on_disk)


def test_the_folded_trunk_computes_what_the_network_computes(network):
    images = torch.randn(3, 3, 96, 96)

    with torch.inference_mode():
        expected = SplitNetwork(network, CUT).trunk(images)
        folded = SplitNetwork(folded_copy(network), CUT).trunk(images.contiguous(memory_format=torch.channels_last))

    assert torch.allclose(folded, expected, atol=1e-3 * float(expected.abs().max()))


def test_weights_fine_tuned_folded_write_back_into_the_served_architecture(network):
    folded = folded_copy(network)
    with torch.no_grad():
        for parameter in folded._blocks[14].parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))  # as if fine-tuned
    served = build_efficientnet_lite0(1000)
    served.load_state_dict(network.state_dict())
    images = torch.randn(2, 3, 96, 96)

    unfold_into(served, folded)

    with torch.inference_mode():
        expected = folded(images.contiguous(memory_format=torch.channels_last))
        assert not torch.allclose(network(images), expected, atol=1e-2)
        assert torch.allclose(served.eval()(images), expected, atol=1e-3 * float(expected.abs().max()))


def test_cached_views_are_the_networks_features_of_the_centre_crop_and_its_mirror(network, tmp_path):
    paths = jpeg_photos(tmp_path / "photos", 6)  # a chunk of four photos and one of two
    store = store_for(network, 2, len(paths))

    cache_views(paths, [CENTRE, MIRRORED], store, SplitNetwork(folded_copy(network), CUT), RECIPE, seed=0, workers=0)

    evaluation = v2.Compose([v2.ToImage(), v2.Resize(73, antialias=True), v2.CenterCrop(64), v2.ToDtype(torch.float32, scale=True),
                             v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    images = torch.stack([evaluation(load_photo(path, 73)) for path in paths])
    parts = SplitNetwork(network, CUT)
    with torch.inference_mode():
        for view, inputs in enumerate([images, images.flip(-1)]):
            maps = parts.trunk(inputs)
            assert torch.allclose(store.maps[view].float(), maps, atol=0.02 * float(maps.abs().max())), f"view {view}"
            pooled = parts.tail(maps)
            assert torch.allclose(store.pooled[view].float(), pooled, atol=0.02 * float(pooled.abs().max())), f"view {view}"


def test_worker_processes_cache_the_same_augmented_views_as_this_process(network, tmp_path):
    paths = jpeg_photos(tmp_path / "photos", 5)
    kinds = [CENTRE, AUGMENTED, AUGMENTED]
    parts = SplitNetwork(folded_copy(network), CUT)
    here, in_workers = store_for(network, 3, len(paths)), store_for(network, 3, len(paths))

    cache_views(paths, kinds, here, parts, RECIPE, seed=3, workers=0)
    cache_views(paths, kinds, in_workers, parts, RECIPE, seed=3, workers=2)

    assert torch.equal(here.maps, in_workers.maps)
    assert not torch.equal(here.maps[1], here.maps[2])  # two augmented views of a photo differ


def test_the_budget_stops_the_pass_after_a_complete_view(network, tmp_path):
    paths = jpeg_photos(tmp_path / "photos", 5)
    store = store_for(network, 4, len(paths))
    asked = []

    def keep_going(view, seconds_per_view):
        asked.append(view)
        return view < 2

    done = cache_views(paths, [CENTRE] + [AUGMENTED] * 3, store, SplitNetwork(folded_copy(network), CUT), RECIPE, seed=0, workers=0,
                       keep_going=keep_going)

    assert (done, asked) == (2, [1, 2])


def test_a_store_on_disk_is_a_memory_mapped_file_that_close_removes(network):
    store = store_for(network, 2, 3, on_disk=True)
    folder = store.folder
    store.maps[1, 2] = 1.5

    assert (folder / "maps.npy").is_file() and np.load(folder / "maps.npy", mmap_mode="r")[1, 2].max() == 1.5
    store.close()
    assert not folder.exists()
