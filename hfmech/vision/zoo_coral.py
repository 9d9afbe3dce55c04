"""Zoo entries ``coral-mobilenet-*``: the four Google Coral MobileNet classifiers (uint8 TFLite, from
google-coral/test_data or ``$HFMECH_CORAL_DIR``), dequantised to float. They are generic ImageNet classifiers (task
``image-classification``) — the held-out judges of Perception Engines, and usable by any mechanism or user — so
they live with the shared vision code. :func:`load_judge` builds (once) and loads one.
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

from ..hub import zoo
from ..hub.files import atomic_path
from .convert_mobilenet import config_from_tflite, convert_tflite_graph
from .modeling_mobilenet import MobileNetForImageClassification, image_processor_for
from .tflite_reader import read_tflite

# --------------------------------------------------------------------------------------------------------------------
# Zoo entries: the Coral files, downloaded from google-coral/test_data (or a local directory)
# --------------------------------------------------------------------------------------------------------------------

CORAL_URL = "https://github.com/google-coral/test_data/raw/master/{filename}"
CORAL_DIR_ENV = "HFMECH_CORAL_DIR"

#: sha256 of the files as published in google-coral/test_data (checked after every download or local read).
CORAL_FILES: dict[str, str] = {
    "mobilenet_v1_0.25_128_quant.tflite": "cb273c23ee76374b05b9583177e28aa19744858a7679c56a250e83d0333da785",
    "mobilenet_v1_0.5_160_quant.tflite": "3cc6d2ca460abd2e0f699a6d0d2550c6b61c6e3b0e27a3616e384ea74cb86f43",
    "mobilenet_v1_0.75_192_quant.tflite": "41daeb22fdcf947e0e5ec32373aa9df7c31f3ef45dbd0ef7b5940fbce3c20f6a",
    "mobilenet_v2_1.0_224_quant.tflite": "7aad0c74c5e3c06e5eb3c827e13304fdd68a83da6087d92ee169c24ff9fd4776",
}

#: zoo name -> (file, description).
CORAL_MODELS: dict[str, tuple[str, str]] = {
    "coral-mobilenet-v1-025-128": ("mobilenet_v1_0.25_128_quant.tflite", "MobileNet V1 0.25, 128 px"),
    "coral-mobilenet-v1-050-160": ("mobilenet_v1_0.5_160_quant.tflite", "MobileNet V1 0.5, 160 px"),
    "coral-mobilenet-v1-075-192": ("mobilenet_v1_0.75_192_quant.tflite", "MobileNet V1 0.75, 192 px"),
    "coral-mobilenet-v2-100-224": ("mobilenet_v2_1.0_224_quant.tflite", "MobileNet V2 1.0, 224 px"),
}


def coral_file(filename: str, directory: str | os.PathLike | None = None) -> Path:
    """Local path of a Coral model file: from ``directory`` / ``$HFMECH_CORAL_DIR`` or downloaded once (cached).

    Downloads go to ``<HFMECH_CACHE>/downloads/coral/`` through :func:`hfmech.hub.files.atomic_path`; the sha256 is checked
    against :data:`CORAL_FILES`. Raises :class:`~hfmech.hub.zoo.ZooError` when the file cannot be had.
    """
    directory = directory or os.environ.get(CORAL_DIR_ENV)
    expected = CORAL_FILES.get(filename)
    if directory:
        path = Path(directory) / filename
        if not path.is_file():
            raise zoo.ZooError(f"{path} not found (from {CORAL_DIR_ENV} / the directory argument)")
    else:
        path = zoo.cache_dir().parent / "downloads" / "coral" / filename
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            url = CORAL_URL.format(filename=filename)
            try:
                with (
                    atomic_path(path) as tmp,
                    urllib.request.urlopen(url, timeout=60) as response,
                    open(tmp, "wb") as out,
                ):
                    while chunk := response.read(1 << 20):
                        out.write(chunk)
            except OSError as err:
                raise zoo.ZooError(
                    f"could not download {url}: {err}. Set {CORAL_DIR_ENV} to a directory holding {filename}"
                ) from err
    if expected is not None and zoo.sha256_file(path) != expected:
        raise zoo.ZooError(f"{path}: sha256 differs from google-coral/test_data's {filename}")
    return path


def build_coral_repo(name: str, out_dir: Path) -> dict:
    """Dequantise the Coral file of zoo entry ``name`` into a Hub-ready folder; returns the card values."""
    filename, description = CORAL_MODELS[name]
    path = coral_file(filename)
    graph = read_tflite(path)
    config = config_from_tflite(graph)
    model = MobileNetForImageClassification(config)
    model.load_state_dict(convert_tflite_graph(graph, config), strict=True)
    sha = zoo.sha256_file(path)
    model.config.source = {"file": filename, "url": CORAL_URL.format(filename=filename), "sha256": sha}
    model.config.architectures = [type(model).__name__]
    model.save_pretrained(out_dir, safe_serialization=True)
    image_processor_for(model.config).save_pretrained(out_dir)
    weights = [op.inputs[1] for op in graph.ops if op.type in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    per_axis = any(w.scale is not None and w.scale.size > 1 for w in weights)
    inp = graph.inputs[0]
    num_parameters = sum(p.numel() for p in model.parameters())
    ops: dict[str, int] = {}
    for op in graph.ops:
        ops[op.type] = ops.get(op.type, 0) + 1
    return {
        "zoo_name": name,
        "description": description,
        "version": config.version,
        "depth_multiplier": config.depth_multiplier,
        "image_size": config.image_size,
        "num_parameters": num_parameters,
        "num_parameters_millions": f"{num_parameters / 1e6:.2f}",
        "num_blocks": len(model.blocks),
        "source_file": filename,
        "source_url": CORAL_URL.format(filename=filename),
        "source_sha256": sha,
        "op_counts": ", ".join(f"{k} × {v}" for k, v in sorted(ops.items())),
        "weight_quantization": "per-axis" if per_axis else "per-tensor",
        "input_scale": f"{float(inp.scale[0]):.7g}" if inp.is_quantized else "float",
        "input_zero_point": int(inp.zero_point[0]) if inp.is_quantized else 0,
        "image_mean": f"{config.image_mean[0]:.6f}",
        "image_std": f"{config.image_std[0]:.6f}",
    }


def _register_coral(name: str) -> None:
    _filename, description = CORAL_MODELS[name]

    @zoo.register(
        name,
        card="coral-mobilenet.md",
        task="image-classification",
        description=f"{description}: Google Coral uint8 TFLite classifier, dequantised to float (held-out judge)",
    )
    def builder(out_dir: Path) -> dict:
        return build_coral_repo(name, Path(out_dir))


for _name in CORAL_MODELS:
    _register_coral(_name)


def load_judge(name: str) -> MobileNetForImageClassification:
    """Build (once, cached by the zoo) and load the Coral judge ``name`` (a key of :data:`CORAL_MODELS`)."""
    return MobileNetForImageClassification.from_pretrained(zoo.build(name)).eval()
