"""A client for a RePose model behind TF Serving (REST or gRPC).

    from repose_tf.serving import Client
    client = Client("localhost:8501", "repose")                      # REST
    client = Client("localhost:8500", "repose", protocol="grpc")     # gRPC
    result = client.predict_images([open("photo.jpg", "rb").read()])
    result.keypoints   # (1, K, 2) pixels of photo.jpg

REST requests go to ``POST /v1/models/NAME[/versions/V]:predict``: images in the row format
(``{"instances": [{"images": {"b64": ...}, "boxes": [x, y, w, h]}]}``), crops in the
columnar format (``{"inputs": {"crops": [...]}}``).  gRPC requests are
``PredictionService/Predict`` calls with the tensorflow-serving-api protos.  Signatures and
outputs are those of :mod:`repose_tf.export.saved_model`.

A request the server rejects raises :class:`ServingError` carrying the server's status
(``INVALID_ARGUMENT`` for bad input, with the message of the failed check).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

import numpy as np

from repose_tf.export.crops import error_message
from repose_tf.inference import Prediction

PROTOCOLS = ("rest", "grpc")
# gRPC's default 4 MB cap is a batch of four 128 x 128 x 14 heatmaps.
MAX_MESSAGE_BYTES = 256 << 20
# HTTP status -> the gRPC status name TF Serving's REST API maps it from.
_HTTP_STATUS = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 412: "FAILED_PRECONDITION", 500: "INTERNAL",
                503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


class ServingError(RuntimeError):
    """The server rejected a request: ``status`` is a gRPC status name, e.g. ``INVALID_ARGUMENT``."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class Client:
    """Predict keypoints through TF Serving.

    Args:
      target: ``host:port`` or a URL (``http://host:8501``; REST) of the server.
      model_name: the served model's name (``MODEL_NAME`` of the Docker image).
      protocol: "rest" (port 8501 by default in TF Serving) or "grpc" (8500).
      version: a model version; default the one the server chooses (the latest).
      timeout: seconds per request.
    """

    def __init__(self, target: str, model_name: str = "repose", protocol: str = "rest", *,
                 version: int | None = None, timeout: float = 30.0) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
        self.model_name, self.protocol, self.version, self.timeout = model_name, protocol, version, timeout
        address = target.split("://", 1)[-1].rstrip("/")
        if protocol == "rest":
            scheme = target.split("://", 1)[0] if "://" in target else "http"
            path = f"/v1/models/{model_name}" + (f"/versions/{version}" if version is not None else "")
            self._url = f"{scheme}://{address}{path}:predict"
        else:
            import grpc
            from tensorflow_serving.apis import prediction_service_pb2_grpc

            self._channel = grpc.insecure_channel(address, options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)])
            self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def predict_images(self, images: Sequence[bytes], boxes: np.ndarray | Sequence[Sequence[float]] | None = None
                       ) -> Prediction:
        """JPEG/PNG bytes (and optional (N, 4) ``x, y, w, h`` person boxes) -> keypoints in image pixels."""
        images = list(images)
        rows = None if boxes is None else np.asarray(boxes, np.float32).reshape(-1, 4)
        if self.protocol == "rest":
            instances = [{"images": {"b64": base64.b64encode(data).decode("ascii")}} for data in images]
            if rows is not None:
                if len(rows) != len(images):
                    raise ValueError(f"{len(rows)} boxes for {len(images)} images: give one box per image")
                for instance, box in zip(instances, rows.tolist(), strict=True):
                    instance["boxes"] = box
            predictions = self._rest({"signature_name": "predict_images", "instances": instances})["predictions"]
            out = {key: np.asarray([p[key] for p in predictions], np.float32) for key in ("keypoints", "scores")}
        else:
            inputs = {"images": np.asarray(images, object)}
            if rows is not None:
                inputs["boxes"] = rows
            out = self._grpc("predict_images", inputs)
        return Prediction(out["keypoints"], out["scores"])

    def predict_crops(self, crops: np.ndarray, heatmaps: bool = True) -> Prediction:
        """(N, S, S, 3) float32 crops in [0, 255] -> keypoints in crop pixels, scores (and heatmaps).

        ``heatmaps=False`` asks a gRPC server to leave them out of the response (REST always sends them).
        """
        crops = np.asarray(crops, np.float32)
        if self.protocol == "rest":
            out = self._rest({"signature_name": "serving_default", "inputs": {"crops": crops.tolist()}})["outputs"]
            out = {key: np.asarray(value, np.float32) for key, value in out.items()}
        else:
            keys = ("keypoints", "scores", "heatmaps") if heatmaps else ("keypoints", "scores")
            out = self._grpc("serving_default", {"crops": crops}, keys)
        return Prediction(out["keypoints"], out["scores"], out.get("heatmaps") if heatmaps else None)

    def close(self) -> None:
        if self.protocol == "grpc":
            self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rest(self, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(self._url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as e:
            try:
                message = json.loads(e.read()).get("error", e.reason)
            except ValueError:
                message = str(e.reason)
            raise ServingError(_HTTP_STATUS.get(e.code, f"HTTP {e.code}"), error_message(message)) from None
        except urllib.error.URLError as e:
            raise ServingError("UNAVAILABLE", f"{self._url}: {e.reason}") from None

    def _grpc(self, signature: str, inputs: dict[str, np.ndarray], outputs: Sequence[str] = ()
              ) -> dict[str, np.ndarray]:
        import grpc
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.model_name
        request.model_spec.signature_name = signature
        if self.version is not None:
            request.model_spec.version.value = self.version
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        request.output_filter.extend(outputs)
        try:
            response = self._stub.Predict(request, timeout=self.timeout)
        except grpc.RpcError as e:
            raise ServingError(e.code().name, error_message(e.details() or "")) from None
        return {key: tf.make_ndarray(value) for key, value in response.outputs.items()}
