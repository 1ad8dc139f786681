"""Client against the loopback server (REST and gRPC on 127.0.0.1, ephemeral ports), end to end."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import numpy as np
import pytest

from repose_tf.inference import SavedModelPredictor
from repose_tf.serving import Client, ServingError
from repose_tf.serving.loopback import LoopbackServer
from tests.export.artifacts import MODEL_NAME, SIZE, encode, person_image, saved_model

K = 14


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackServer]:
    base, _ = saved_model(tmp_path_factory)
    with LoopbackServer(base, MODEL_NAME, max_requests=100, lifetime=600) as running:
        yield running


@pytest.fixture(scope="module")
def local(server: LoopbackServer) -> SavedModelPredictor:
    """The same SavedModel run in process: what the server must answer."""
    return SavedModelPredictor(server.model.path)


@pytest.fixture(params=["rest", "grpc"])
def client(request: pytest.FixtureRequest, server: LoopbackServer) -> Iterator[Client]:
    address = server.rest_address if request.param == "rest" else server.grpc_address
    with Client(address, MODEL_NAME, protocol=request.param) as c:
        yield c


def test_server_listens_on_loopback_only(server: LoopbackServer):
    for address in (server.rest_address, server.grpc_address):
        host, port = address.rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
    status = json.loads(urllib.request.urlopen(f"http://{server.rest_address}/v1/models/{MODEL_NAME}").read())
    assert status["model_version_status"][0]["state"] == "AVAILABLE"


def test_predict_images_with_and_without_boxes(client: Client, local: SavedModelPredictor):
    jpeg, _ = person_image()
    png = encode(np.full((50, 70, 4), 120, np.uint8), "PNG")  # RGBA just works
    got = client.predict_images([jpeg, png])
    want = local.predict_images([jpeg, png])
    assert got.keypoints.shape == (2, K, 2) and got.scores.shape == (2, K)
    np.testing.assert_allclose(got.keypoints, want.keypoints, atol=1e-4)
    boxes = [[10, 5, 60, 80], [0, 0, 70, 50]]
    np.testing.assert_allclose(client.predict_images([jpeg, png], boxes=boxes).keypoints,
                               local.predict_images([jpeg, png], boxes).keypoints, atol=1e-4)


def test_predict_crops(client: Client, local: SavedModelPredictor):
    crops = np.random.default_rng(0).uniform(0, 255, (2, SIZE, SIZE, 3)).astype(np.float32)
    got = client.predict_crops(crops)
    want = local.predict_crops(crops)
    np.testing.assert_allclose(got.heatmaps, want.heatmaps, atol=1e-5)
    np.testing.assert_allclose(got.keypoints, want.keypoints, atol=1e-4)


@pytest.mark.parametrize("call, message", [
    (lambda c: c.predict_images([b"\x00\x01 not an image"]), "images[0] is neither a JPEG nor a PNG image"),
    (lambda c: c.predict_images([person_image()[0][:300]]), "Invalid JPEG data"),
    (lambda c: c.predict_images([encode(np.zeros((1, 1, 3), np.uint8), "PNG")]), "images[0] is 1 x 1 pixels"),
    (lambda c: c.predict_images([person_image()[0]], boxes=[[500, 500, 20, 20]]), "lies outside the 96 x 96 image"),
    (lambda c: c.predict_crops(np.zeros((1, 32, 32, 3))), f"crops must be (N, {SIZE}, {SIZE}, 3)"),
    (lambda c: c.predict_crops(np.full((1, SIZE, SIZE, 3), 1000.0)), "crops must hold RGB values in [0, 255]"),
])
def test_bad_input_is_invalid_argument(client: Client, call, message: str):
    with pytest.raises(ServingError) as info:
        call(client)
    assert info.value.status == "INVALID_ARGUMENT"
    assert message in info.value.message


def test_wrong_dtype_is_invalid_argument(server: LoopbackServer):
    with Client(server.grpc_address, MODEL_NAME, protocol="grpc") as c:
        with pytest.raises(ServingError, match="INVALID_ARGUMENT: Expects arg.* to be float32 but int32"):
            c._grpc("serving_default", {"crops": np.zeros((1, SIZE, SIZE, 3), np.int32)})
    body = json.dumps({"inputs": {"crops": [[["not", "numbers"]]]}}).encode()
    request = urllib.request.Request(f"http://{server.rest_address}/v1/models/{MODEL_NAME}:predict", data=body)
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request)
    assert info.value.code == 400 and "crops" in json.loads(info.value.read())["error"]


def test_unknown_model_or_version_is_not_found(server: LoopbackServer):
    with Client(server.rest_address, "other") as c, pytest.raises(ServingError, match="NOT_FOUND"):
        c.predict_crops(np.zeros((1, SIZE, SIZE, 3)))
    with Client(server.grpc_address, MODEL_NAME, protocol="grpc", version=9) as c:
        with pytest.raises(ServingError, match="NOT_FOUND"):
            c.predict_crops(np.zeros((1, SIZE, SIZE, 3)))


def test_unreachable_server_is_unavailable():
    with Client("127.0.0.1:9", MODEL_NAME, timeout=2) as c, pytest.raises(ServingError, match="UNAVAILABLE"):
        c.predict_images([b"x"])
