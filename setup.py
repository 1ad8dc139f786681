"""repose-tf: RePose (Isack et al.) in TensorFlow/Keras.

TensorFlow itself is not a hard requirement so that installing on Colab (or any machine
with TensorFlow already present) never replaces the preinstalled build.  On a fresh machine
install the ``cpu`` extra, which pins ``tensorflow-cpu==2.21.0``.
"""

from setuptools import find_packages, setup

setup(
    name="repose-tf",
    version="0.1.0",
    description="RePose: learning deep kinematic priors for fast human pose estimation (TF/Keras)",
    url="https://github.com/repose-tf/repose-tf",
    packages=find_packages(include=["repose_tf", "repose_tf.*"]),
    # The pretrained networks (repose_tf.pretrained, docs/models.md) ship inside the package.
    package_data={"repose_tf": ["weights/*.keras", "weights/*.json"]},
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.26",
        "scipy>=1.11",
        "matplotlib>=3.8",
        "pillow>=10",
        "tqdm>=4.66",
    ],
    extras_require={
        "cpu": ["tensorflow-cpu==2.21.0", "tensorboard>=2.16"],
        "test": ["pytest>=8", "nbclient>=0.10", "nbformat>=5.10", "ipykernel>=6.29"],
        "deploy": ["ai-edge-litert>=2.0", "grpcio>=1.60"],
    },
    entry_points={"console_scripts": ["repose=repose_tf.cli:main"]},
)
