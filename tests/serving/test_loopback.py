"""The loopback server's own guarantees: warm-up at start, request bound, lifetime, TF Serving semantics."""

from __future__ import annotations

import time

import numpy as np
import pytest

from repose_tf.serving import Client, ServingError
from repose_tf.serving.loopback import LoopbackServer, ServedModel, Status
from tests.export.artifacts import MODEL_NAME, SIZE, saved_model


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> ServedModel:
    base, _ = saved_model(tmp_path_factory)
    return ServedModel(base, MODEL_NAME)


def test_serves_the_highest_version_and_replays_warmup(served: ServedModel):
    assert served.version == 1
    assert served.warm_up() == 3


def test_missing_inputs_take_signature_defaults_and_extra_ones_are_refused(served: ServedModel):
    from repose_tf.export.saved_model import sample_image

    out = served.predict("predict_images", {"images": np.array([sample_image(40, 40)], object)})
    assert out["keypoints"].shape == (1, 14, 2)
    with pytest.raises(Status, match="sent extra \\['color'\\]"):
        served.predict("predict_images", {"images": np.array([b""], object), "color": np.zeros(1)})
    with pytest.raises(Status, match="missing but required \\['crops'\\]"):
        served.predict("serving_default", {})
    with pytest.raises(Status, match='signature key "classify" not found'):
        served.predict("classify", {})


def test_output_filter(served: ServedModel):
    out = served.predict("serving_default", {"crops": np.zeros((1, SIZE, SIZE, 3), np.float32)}, ["scores"])
    assert list(out) == ["scores"]


def test_request_bound_and_lifetime(tmp_path_factory: pytest.TempPathFactory):
    base, _ = saved_model(tmp_path_factory)
    server = LoopbackServer(base, MODEL_NAME, max_requests=1, lifetime=2.0).start()
    try:
        with Client(server.grpc_address, MODEL_NAME, protocol="grpc", timeout=10) as c:
            c.predict_crops(np.zeros((1, SIZE, SIZE, 3)), heatmaps=False)
            with pytest.raises(ServingError, match="RESOURCE_EXHAUSTED"):
                c.predict_crops(np.zeros((1, SIZE, SIZE, 3)))
        time.sleep(3.0)
        with Client(server.rest_address, MODEL_NAME, timeout=2) as c, pytest.raises(ServingError, match="UNAVAILABLE"):
            c.predict_crops(np.zeros((1, SIZE, SIZE, 3)))
    finally:
        server.stop()
