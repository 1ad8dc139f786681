"""Benchmark and COCO-format datasets -> TFRecord shards of :class:`repose_tf.data.records.PersonRecord`.

* :mod:`.lsp`: LSP (``lsp-train``, ``lsp-test``) and LSP-extended (``lspet-train``).
* :mod:`.mpii`: MPII from the HRNet/mmpose or the CPM JSON (``mpii-train``, ``mpii-valid``).
* :mod:`.coco`: COCO keypoint JSON of any category and skeleton (``coco-<split>``).
* :mod:`.common`: what they share (person annotations, options, the parallel image loop).
* :mod:`.images`: how a person's image is stored (pre-crop, or the source bytes).

The shards are written by :func:`repose_tf.data.shards.write_shards`; the ``repose convert``
command (:mod:`repose_tf.cli.convert`) is the usual entry point.
"""


class InputError(ValueError):
    """Bad input data: a malformed annotation file, or (in strict mode) a bad person or image.

    The message is one line that names the file and, where it applies, the person's index.
    """
