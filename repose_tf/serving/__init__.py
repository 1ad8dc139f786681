"""Serving clients: :class:`Client` for TF Serving (REST or gRPC); ``loopback`` is a local stand-in for tests.

    from repose_tf.serving import Client
    keypoints = Client("localhost:8501", "repose").predict_images([jpeg_bytes]).keypoints
"""

from repose_tf.serving.client import Client, ServingError

__all__ = ["Client", "ServingError"]
