"""A stand-in for TF Serving in tests: REST and gRPC Predict over an exported SavedModel, on 127.0.0.1.

It speaks the subset of TF Serving's APIs that :class:`repose_tf.serving.Client` uses, with
TF Serving's semantics where they matter:

* REST ``POST /v1/models/NAME[/versions/V]:predict`` with ``instances`` (row format) or
  ``inputs`` (columnar format), ``{"b64": ...}`` for string tensors, ``signature_name``;
  answers ``predictions`` / ``outputs``, or ``{"error": ...}`` with an HTTP error status.
  ``GET /v1/models/NAME`` gives the version status.
* gRPC ``tensorflow.serving.PredictionService/Predict`` with ``output_filter``.
* The highest numbered version under the model directory is served; inputs missing from a
  request take the SignatureDef's defaults; the warm-up requests of
  ``assets.extra/tf_serving_warmup_requests`` are replayed at start (a failing one fails the
  start, as TF Serving fails to load the version).
* Bad input is INVALID_ARGUMENT (HTTP 400) with the message of the failed check.

It is bounded: it listens on 127.0.0.1 only, on ports the OS picks, serves at most
``max_requests`` requests (later ones get RESOURCE_EXHAUSTED) and stops by itself after
``lifetime`` seconds.  Use it as a context manager::

    with LoopbackServer("savedmodel/repose", "repose") as server:
        client = Client(server.rest_address, "repose")
"""

from __future__ import annotations

import base64
import json
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import (
    predict_pb2,
    prediction_log_pb2,
    prediction_service_pb2_grpc,
)

from repose_tf.export.saved_model import WARMUP_FILE, resolve_version_dir

HOST = "127.0.0.1"
_HTTP_CODES = {"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "NOT_FOUND": 404, "RESOURCE_EXHAUSTED": 429,
               "INTERNAL": 500}


class Status(Exception):
    """A request's failure as TF Serving reports it: a gRPC status name and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class ServedModel:
    """One SavedModel version and its signatures, run as TF Serving runs Predict requests."""

    def __init__(self, model_dir: str | Path, name: str) -> None:
        from tensorflow.core.protobuf import saved_model_pb2

        self.name = name
        self.path = resolve_version_dir(model_dir)
        self.version = int(self.path.name) if self.path.name.isdigit() else 1
        self._loaded = tf.saved_model.load(str(self.path))
        proto = saved_model_pb2.SavedModel.FromString((self.path / "saved_model.pb").read_bytes())
        self.signature_defs = dict(proto.meta_graphs[0].signature_def)

    def check_version(self, version: int | None) -> None:
        if version is not None and version != self.version:
            raise Status("NOT_FOUND", f"Servable not found for request: Specific({self.name}, {version})")

    def predict(self, signature: str, inputs: dict[str, Any], output_filter: list[str] | None = None
                ) -> dict[str, np.ndarray]:
        """Run ``signature`` on ``inputs`` (arrays or nested lists) -> its outputs as numpy arrays."""
        signature = signature or "serving_default"
        if signature not in self._loaded.signatures or signature not in self.signature_defs:
            raise Status("FAILED_PRECONDITION", f'Serving signature key "{signature}" not found.')
        sig = self.signature_defs[signature]
        extra = sorted(set(inputs) - set(sig.inputs))
        missing = sorted(set(sig.inputs) - set(inputs) - set(sig.defaults))
        if extra or missing:
            raise Status("INVALID_ARGUMENT", f"input size does not match signature: sent extra {extra}, "
                                             f"missing but required {missing}")
        tensors = {key: tf.make_ndarray(value) for key, value in sig.defaults.items()}
        for i, (key, value) in enumerate(sorted(inputs.items())):
            dtype = tf.dtypes.as_dtype(sig.inputs[key].dtype)
            if isinstance(value, np.ndarray) and _tensor_dtype(value) != dtype:
                raise Status("INVALID_ARGUMENT", f"Expects arg[{i}] to be {dtype.name} but "
                                                 f"{_tensor_dtype(value).name} is provided")
            try:
                tensors[key] = np.asarray(value, object if dtype == tf.string else dtype.as_numpy_dtype)
            except (TypeError, ValueError) as e:
                raise Status("INVALID_ARGUMENT", f"input {key!r} is not a {dtype.name} tensor: {e}") from None
        unknown = sorted(set(output_filter or ()) - set(sig.outputs))
        if unknown:
            raise Status("INVALID_ARGUMENT", f"output tensor alias not found in signature: {unknown}")
        try:
            outputs = self._loaded.signatures[signature](**{k: tf.constant(v) for k, v in tensors.items()})
        except tf.errors.InvalidArgumentError as e:
            raise Status("INVALID_ARGUMENT", e.message) from None
        except (TypeError, ValueError) as e:  # the signature's static shape or dtype refused the input
            raise Status("INVALID_ARGUMENT", str(e)) from None
        return {key: value.numpy() for key, value in outputs.items() if not output_filter or key in output_filter}

    def warm_up(self) -> int:
        """Replay the warm-up requests; return how many ran."""
        path = self.path / WARMUP_FILE
        if not path.is_file():
            return 0
        count = 0
        for record in tf.data.TFRecordDataset(str(path)):
            request = prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log.request
            self.predict(request.model_spec.signature_name,
                         {key: tf.make_ndarray(value) for key, value in request.inputs.items()})
            count += 1
        return count


def _tensor_dtype(value: np.ndarray) -> tf.DType:
    """The TensorFlow dtype of a decoded request tensor (object arrays hold strings)."""
    return tf.string if value.dtype == object else tf.dtypes.as_dtype(value.dtype)


class LoopbackServer:
    """REST and gRPC endpoints for one model on 127.0.0.1 (see the module docstring).

    Args:
      model_dir: the model directory holding numbered versions (or one version directory).
      model_name: the name clients use in URLs and model specs.
      max_requests: requests served before answering RESOURCE_EXHAUSTED.
      lifetime: seconds after :meth:`start` when the server stops by itself.
    """

    def __init__(self, model_dir: str | Path, model_name: str = "repose", *, max_requests: int = 200,
                 lifetime: float = 300.0) -> None:
        self.model = ServedModel(model_dir, model_name)
        self.max_requests, self.lifetime = max_requests, lifetime
        self.requests = 0
        self._lock = threading.Lock()
        self._http: ThreadingHTTPServer | None = None
        self._grpc: Any = None
        self._timer: threading.Timer | None = None
        self.rest_address = self.grpc_address = ""

    def start(self) -> LoopbackServer:
        """Warm up, then listen; returns when both endpoints accept requests."""
        self.model.warm_up()
        self._http = ThreadingHTTPServer((HOST, 0), _rest_handler(self))
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, name="loopback-rest", daemon=True).start()
        self.rest_address = f"{HOST}:{self._http.server_address[1]}"
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=2), options=[
            ("grpc.max_receive_message_length", 256 << 20), ("grpc.max_send_message_length", 256 << 20)])
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(_GrpcServicer(self), self._grpc)
        port = self._grpc.add_insecure_port(f"{HOST}:0")
        self._grpc.start()
        self.grpc_address = f"{HOST}:{port}"
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        """Close both endpoints (idempotent)."""
        with self._lock:
            http, grpc_server, timer = self._http, self._grpc, self._timer
            self._http = self._grpc = self._timer = None
        if timer is not None:
            timer.cancel()
        if http is not None:
            http.shutdown()
            http.server_close()
        if grpc_server is not None:
            grpc_server.stop(grace=None).wait()

    def admit(self) -> None:
        """Count a request; raise RESOURCE_EXHAUSTED beyond ``max_requests``."""
        with self._lock:
            self.requests += 1
            if self.requests > self.max_requests:
                raise Status("RESOURCE_EXHAUSTED", f"the loopback server serves at most {self.max_requests} requests")

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _from_json(value: Any) -> Any:
    """Replace ``{"b64": ...}`` objects by their bytes, recursively."""
    if isinstance(value, dict):
        if set(value) == {"b64"}:
            return base64.b64decode(value["b64"])
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def _rest_inputs(body: dict[str, Any], input_names: list[str]) -> tuple[dict[str, Any], bool]:
    """Request body -> (named inputs, row format?), per TF Serving's REST API."""
    if ("instances" in body) == ("inputs" in body):
        raise Status("INVALID_ARGUMENT", 'the request must have exactly one of "instances" or "inputs"')
    if "inputs" in body:
        inputs = _from_json(body["inputs"])
        if isinstance(inputs, dict):
            return inputs, False
        if len(input_names) != 1:
            raise Status("INVALID_ARGUMENT", f'"inputs" must name the signature\'s inputs {input_names}')
        return {input_names[0]: inputs}, False
    instances = _from_json(body["instances"])
    if not isinstance(instances, list) or not instances:
        raise Status("INVALID_ARGUMENT", '"instances" must be a non-empty list')
    if all(isinstance(i, dict) for i in instances):
        keys = set(instances[0])
        if any(set(i) != keys for i in instances):
            raise Status("INVALID_ARGUMENT", "every instance must have the same named inputs")
        return {key: [i[key] for i in instances] for key in keys}, True
    if len(input_names) != 1:
        raise Status("INVALID_ARGUMENT", f"instances must be objects naming the inputs {input_names}")
    return {input_names[0]: instances}, True


def _rest_handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    model = server.model

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read their own output
            return None

        def _send(self, code: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _route(self) -> tuple[int | None, str]:
            """``/v1/models/NAME[/versions/V][:verb]`` -> (version, verb)."""
            path, _, verb = self.path.partition(":")
            prefix = f"/v1/models/{model.name}"
            if path == prefix:
                return None, verb
            if path.startswith(prefix + "/versions/") and path[len(prefix) + 10:].isdigit():
                return int(path[len(prefix) + 10:]), verb
            raise Status("NOT_FOUND", f"no model at {self.path} (serving {prefix})")

        def _handle(self, post: bool) -> None:
            try:
                server.admit()
                version, verb = self._route()
                model.check_version(version)
                if not post and not verb:
                    self._send(200, {"model_version_status": [
                        {"version": str(model.version), "state": "AVAILABLE", "status": {"error_code": "OK"}}]})
                    return
                if not (post and verb == "predict"):
                    raise Status("INVALID_ARGUMENT", f"unsupported request {self.command} {self.path}")
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                except ValueError as e:
                    raise Status("INVALID_ARGUMENT", f"the body is not JSON: {e}") from None
                if not isinstance(body, dict):
                    raise Status("INVALID_ARGUMENT", "the body must be a JSON object")
                signature = body.get("signature_name", "serving_default")
                names = sorted(model.signature_defs[signature].inputs) if signature in model.signature_defs else []
                inputs, rows = _rest_inputs(body, names)
                outputs = model.predict(signature, inputs)
            except Status as e:
                self._send(_HTTP_CODES.get(e.code, 500), {"error": e.message})
                return
            if rows:
                count = len(next(iter(outputs.values())))
                self._send(200, {"predictions": [{k: v[i].tolist() for k, v in outputs.items()} for i in range(count)]})
            else:
                self._send(200, {"outputs": {k: v.tolist() for k, v in outputs.items()}})

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._handle(post=False)

        def do_POST(self) -> None:  # noqa: N802
            self._handle(post=True)

    return Handler


class _GrpcServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """``PredictionService/Predict`` over :class:`ServedModel`; the other methods stay UNIMPLEMENTED."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server

    def Predict(self, request: predict_pb2.PredictRequest, context: grpc.ServicerContext  # noqa: N802 (gRPC name)
                ) -> predict_pb2.PredictResponse:
        model = self.server.model
        try:
            self.server.admit()
            if request.model_spec.name != model.name:
                raise Status("NOT_FOUND", f"Servable not found for request: Latest({request.model_spec.name})")
            model.check_version(request.model_spec.version.value if request.model_spec.HasField("version") else None)
            inputs = {key: tf.make_ndarray(value) for key, value in request.inputs.items()}
            outputs = model.predict(request.model_spec.signature_name, inputs, list(request.output_filter))
        except Status as e:
            context.abort(getattr(grpc.StatusCode, e.code), e.message)
        response = predict_pb2.PredictResponse()
        response.model_spec.CopyFrom(request.model_spec)
        response.model_spec.version.value = model.version
        for key, value in outputs.items():
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
        return response
