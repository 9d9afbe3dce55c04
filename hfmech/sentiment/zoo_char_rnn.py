"""Zoo entry ``char-rnn-reddit``: textgenrnn's pretrained character-level LSTM, converted to plain torch.

The PyPI package ``textgenrnn`` (Max Woolf, MIT; github.com/minimaxir/textgenrnn) ships ``textgenrnn_weights.hdf5``
and ``textgenrnn_vocab.json``: a 100-d character embedding, two LSTM-128 layers and an attention-weighted average
over a 40-character window, trained on Reddit submission titles. It is installed with ``pip install --no-deps
textgenrnn`` (its declared dependency is TensorFlow, which hfmech never imports: the builder reads the two files
with h5py and json, :mod:`.convert_textgenrnn`). The package is located with ``importlib.util.find_spec`` without
importing it (its ``__init__`` imports TensorFlow).

The sentiment-unit discovery on this model (:func:`discover`, the probe of :mod:`.probe` on its LSTM states) was run
once on SST-2; its result, :data:`SENTIMENT_DISCOVERY`, is recorded in the built folder's config and the card.
Discovery never runs on a user's call. To rerun it::

    python -m hfmech.sentiment.zoo_char_rnn discover --sst2 ../shared/data/sst2 --out char-rnn-discovery.json
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import ModelLoadError
from ..hub import zoo

NAME = "char-rnn-reddit"
WEIGHTS_FILE = "textgenrnn_weights.hdf5"
VOCAB_FILE = "textgenrnn_vocab.json"

# What discovery found on SST-2 (6,920 train / 872 dev / 1,821 test; test is 50.1 % majority class), measured with
# the command in the module docstring; read and site chosen by the single unit's dev accuracy (ties: fewer units).
# No unit reads sentiment: the best reads 52.6 % on test, all units at most 56.1 % (docs/sentiment.md has the
# table). The unit most tied to the text, for comparison, counts characters: unit 60 of layer 2's cell state.
SENTIMENT_DISCOVERY: dict | None = {
    "read": "window",  # the model's own input: the last 40 characters, left-padded
    "site": "c1",  # layer 1's cell state after the last character
    "unit": 27,
    "polarity": -1,
    "threshold": 0.2887382358312607,
    "unit_dev_accuracy": 0.5241,
    "unit_accuracy": 0.5255,  # SST-2 test, the unit alone: chance (the pipeline's floor is 60 %)
    "all_units_accuracy": 0.5431,  # SST-2 test, the L1 probe over layer 1's 128 cell units (window read)
    "measured_on": "SST-2 test (1,821 sentences); unit and site chosen on SST-2 dev (872)",
    "length_unit": {
        "site": "full/c2",
        "unit": 60,
        "pearson_r": 0.9692,
    },  # r with characters read, SST-2 train
}


def package_files() -> tuple[Path, Path]:
    """``(weights, vocab)`` inside the installed ``textgenrnn`` package, or :class:`~hfmech.hub.zoo.ZooError`."""
    import importlib.util

    spec = importlib.util.find_spec("textgenrnn")
    if spec is None or not spec.submodule_search_locations:
        raise zoo.ZooError(f"{NAME} needs the PyPI package textgenrnn (pip install --no-deps textgenrnn)")
    folder = Path(list(spec.submodule_search_locations)[0])
    files = folder / WEIGHTS_FILE, folder / VOCAB_FILE
    for f in files:
        if not f.is_file():
            raise zoo.ZooError(f"{f} not found in the installed textgenrnn package")
    return files


def convert_package_model():
    """The float32 :class:`CharRNNForCausalLM` converted from the installed package's files."""
    import importlib.metadata as md

    from .convert_textgenrnn import convert_textgenrnn

    weights, vocab = package_files()
    source = {
        "package": "textgenrnn",
        "version": md.version("textgenrnn"),
        "file": WEIGHTS_FILE,
        "sha256": zoo.sha256_file(weights),
        "licence": "MIT",
    }
    return convert_textgenrnn(weights, vocab, source=source)


def _pct(x) -> str:
    return "not measured" if x is None else f"{100 * float(x):.1f} %"


def _source_fingerprint() -> str:
    """What a build depends on: the discovery result and the package's two files (a different textgenrnn, or another
    file in its place, rebuilds the folder)."""
    try:
        files = zoo.files_fingerprint(*package_files())
    except zoo.ZooError:
        files = "textgenrnn not installed"
    return json.dumps({"discovery": SENTIMENT_DISCOVERY, "files": files}, sort_keys=True)


@zoo.register(
    NAME,
    card=f"{NAME}.md",
    task="text-generation",
    description="textgenrnn's pretrained character LSTM (Reddit titles; char-RNN lineage), plain torch",
    requires=["textgenrnn", "h5py"],
    source=_source_fingerprint,
)
def build_char_rnn_reddit(out_dir: Path) -> dict:
    model = convert_package_model()
    if SENTIMENT_DISCOVERY is not None:
        model.config.sentiment_neuron = dict(SENTIMENT_DISCOVERY)
    model.save_pretrained(out_dir)
    cfg, src = model.config, model.config.source
    d = SENTIMENT_DISCOVERY or {}
    return {
        "source_version": src["version"],
        "source_sha256": src["sha256"],
        "parameters": f"{sum(p.numel() for p in model.parameters()):,}",
        "vocab_size": cfg.vocab_size,
        "unit": d.get("unit", "not measured"),
        "site": d.get("site", "not measured"),
        "read": d.get("read", "not measured"),
        "polarity": f"{d['polarity']:+d}" if "polarity" in d else "not measured",
        "unit_dev_accuracy": _pct(d.get("unit_dev_accuracy")),
        "unit_accuracy": _pct(d.get("unit_accuracy")),
        "all_units_accuracy": _pct(d.get("all_units_accuracy")),
    }


def load_char_rnn(model: str | os.PathLike = NAME):
    """A :class:`CharRNNForCausalLM` (eval, float32) from a zoo name, a local folder or a Hub id.

    The folder is verified and loaded like every hfmech model (:func:`hfmech.hub.loading.load_verified_model`: config
    limits, safetensors headers, a clean load report; Hub ids downloaded without pickles). Failures are
    :class:`~hfmech.errors.ModelLoadError`; a zoo build that cannot run here is a ``ZooError``.
    """
    from ..hub.loading import load_verified_model, model_folder
    from .modeling_char_rnn import CharRNNForCausalLM

    name = os.fspath(model)
    folder = model_folder(zoo.resolve(name))
    loaded = load_verified_model(folder, name=name)
    if not isinstance(loaded, CharRNNForCausalLM):
        raise ModelLoadError(
            f"cannot load model {name!r} as a char-RNN: it is a {type(loaded).__name__} "
            f"(model_type {loaded.config.model_type!r}, expected 'hfmech-char-rnn')"
        )
    return loaded.float().eval()


# ------------------------------------------------------------------------------------------------ discovery
def discover(model, sst2_folder: str | os.PathLike, *, log=print) -> dict:
    """The sentiment-neuron probe (Radford et al. 2017 §3, :mod:`.probe`) on the char-RNN's LSTM states.

    Sites: the cell (``c``) and hidden (``h``) state of each layer after the last character, read two ways (the whole
    ``<s> + text`` from a zero state, or the model's own 40-character window), plus the attention-pooled vector the
    output layer reads (window). For each: the L1 probe over all its units (``C`` chosen on dev), its largest-weight
    unit alone (threshold fitted on train). The reported unit is the one with the best dev accuracy alone. For
    comparison, ``length_units``: per state, the unit most correlated (Pearson r, SST-2 train) with the number of
    characters read.
    """
    import numpy as np

    from .datasets import load_sst2
    from .probe import discover_unit, single_unit_accuracy

    data = load_sst2(sst2_folder)
    splits = {"train": data.train, "dev": data.dev, "test": data.test}
    feats: dict[str, dict[str, np.ndarray]] = {}
    for read in ("full", "window"):
        for split, (texts, _) in splits.items():
            for key, value in model.featurize(list(texts), read=read).items():
                feats.setdefault(f"{read}/{key}", {})[split] = value
        log(f"featurized ({read})")
    # every state of both layers together, per read
    for read in ("full", "window"):
        keys = [k for k in feats if k.startswith(f"{read}/") and k[-1].isdigit()]
        feats[f"{read}/all"] = {s: np.concatenate([feats[k][s] for k in keys], axis=1) for s in splits}
    y = {s: np.asarray(labels) for s, (_, labels) in splits.items()}
    rows = []
    for site, f in feats.items():
        probe, unit = discover_unit(f["train"], y["train"], f["dev"], y["dev"], f["test"], y["test"])
        dev = single_unit_accuracy(f["train"], y["train"], f["dev"], y["dev"], unit.unit, unit.polarity)
        row = {
            "site": site,
            "units": int(f["train"].shape[1]),
            "all_units_dev": probe.dev_accuracy,
            "all_units_test": probe.test_accuracy,
            "C": probe.C,
            "n_nonzero": probe.n_nonzero,
            "unit": unit.unit,
            "polarity": unit.polarity,
            "threshold": unit.threshold,
            "unit_train": unit.train_accuracy,
            "unit_dev": dev.test_accuracy,
            "unit_test": unit.test_accuracy,
        }
        rows.append(row)
        log(json.dumps(row))
    # the unit that best tracks how many characters have been read (Karpathy's line-length cell), for comparison
    lengths = np.array([len(t) for t in splits["train"][0]], dtype=np.float64)
    counters = []
    for site in ("c1", "h1", "c2", "h2"):
        f = feats[f"full/{site}"]["train"].astype(np.float64)
        f = f - f.mean(0)
        r = (f * (lengths - lengths.mean())[:, None]).sum(0) / (
            np.sqrt((f**2).sum(0) * ((lengths - lengths.mean()) ** 2).sum()) + 1e-30
        )
        j = int(np.argmax(np.abs(r)))
        counters.append({"site": f"full/{site}", "unit": j, "pearson_r": round(float(r[j]), 4)})
        log(json.dumps(counters[-1]))
    best = max(rows, key=lambda r: (r["unit_dev"], -r["units"]))
    read, site = best["site"].split("/")
    return {
        "rows": rows,
        "length_units": counters,
        "chosen": {
            "read": read,
            "site": site,
            "unit": best["unit"],
            "polarity": best["polarity"],
            "threshold": best["threshold"],
            "unit_dev_accuracy": round(best["unit_dev"], 4),
            "unit_accuracy": round(best["unit_test"], 4),
            "all_units_accuracy": round(best["all_units_test"], 4),
            "measured_on": "SST-2 test (1,821 sentences); unit and site chosen on SST-2 dev (872)",
        },
    }


def main(argv=None) -> int:
    import argparse

    from ..hub.files import write_json_atomic

    p = argparse.ArgumentParser(prog="python -m hfmech.sentiment.zoo_char_rnn")
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser(
        "discover", help="run the sentiment-unit probe on char-rnn-reddit's LSTM states (SST-2)"
    )
    d.add_argument("--sst2", required=True, help="folder with SST-2 train.csv, dev.csv, test.csv")
    d.add_argument("--out", required=True, help="JSON file for the table and the chosen unit")
    d.add_argument("--model", default=NAME, help="zoo name or folder (default: %(default)s)")
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    result = discover(load_char_rnn(a.model), a.sst2)
    write_json_atomic(a.out, result)
    print(json.dumps(result["chosen"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
