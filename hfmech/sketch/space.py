"""The sketch Space: draw with the mouse, see sketch-rnn's reconstruction, variations at a temperature,
the latent interpolation to an example and an attribute slider (Ha & Eck 2017).

gradio's Sketchpad returns a raster; sketch-rnn needs the pen's path. The canvas is a ``gr.HTML`` whose
``js_on_load`` records pointer strokes (absolute ``[[x…], [y…]]`` per stroke, Quick, Draw!'s format) and writes them
as JSON into a hidden Textbox (``#sketch-strokes``), firing its ``input`` event; every action reads that Textbox.
``spaces/sketch/app.py`` is just ``demo = build_demo()``; ``hfmech serve`` renders the same Blocks in a tab.
"""

from __future__ import annotations

import json

import gradio as gr
import numpy as np

from ..errors import USER_ERRORS
from ..hub import load_pipeline
from ..ui import configure, figure_of, how_it_works
from . import render
from .examples import EXAMPLES, example_strokes

DEFAULT_MODEL = "sketch-rnn-omniglot"
CANVAS_PX = 320

CANVAS_HTML = f"""
<div style="display:flex;flex-direction:column;gap:6px;align-items:flex-start">
  <canvas id="sketch-canvas" width="{CANVAS_PX}" height="{CANVAS_PX}"
    style="border:1px solid #999;border-radius:6px;background:#fff;touch-action:none;cursor:crosshair"></canvas>
  <button id="sketch-clear" type="button" style="padding:2px 10px;border:1px solid #999;border-radius:4px">
    Clear</button>
</div>
"""

CANVAS_JS = """
const canvas = element.querySelector('#sketch-canvas');
const ctx = canvas.getContext('2d');
ctx.lineWidth = 3; ctx.lineCap = 'round'; ctx.lineJoin = 'round'; ctx.strokeStyle = '#000';
let strokes = [];
let current = null;
function send() {
  const box = document.querySelector('#sketch-strokes textarea');
  if (!box) return;
  box.value = JSON.stringify(strokes);
  box.dispatchEvent(new Event('input', {bubbles: true}));
}
function pos(ev) {
  const r = canvas.getBoundingClientRect();
  return [Math.round((ev.clientX - r.left) * canvas.width / r.width),
          Math.round((ev.clientY - r.top) * canvas.height / r.height)];
}
canvas.addEventListener('pointerdown', (ev) => {
  const [x, y] = pos(ev);
  current = [[x], [y]];
  canvas.setPointerCapture(ev.pointerId);
  ctx.beginPath(); ctx.moveTo(x, y);
});
canvas.addEventListener('pointermove', (ev) => {
  if (!current) return;
  const [x, y] = pos(ev);
  current[0].push(x); current[1].push(y);
  ctx.lineTo(x, y); ctx.stroke();
});
function finish() {
  if (!current) return;
  strokes.push(current); current = null; send();
}
canvas.addEventListener('pointerup', finish);
canvas.addEventListener('pointerleave', finish);
element.querySelector('#sketch-clear').addEventListener('click', () => {
  strokes = []; ctx.clearRect(0, 0, canvas.width, canvas.height); send();
});
"""


def _drawing(strokes_json):
    """The canvas JSON (a list of ``[[x…], [y…]]`` strokes) or an example name → a pipeline input."""
    text = (strokes_json or "").strip()
    if not text or text == "[]":
        raise gr.Error("Draw something on the canvas first (or pick an example).")
    if text in EXAMPLES:
        return example_strokes(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise gr.Error(f"The canvas sent something that is not JSON: {e}") from e


def reconstruct(strokes_json, temperature=0.1, seed=0, model=DEFAULT_MODEL):
    """``(input image, reconstruction image, reconstruction SVG)``."""
    try:
        pipe = load_pipeline("sketch-vae", model)
        out = pipe(_drawing(strokes_json), temperature=float(temperature), seed=int(seed))
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e
    return render.to_png(out.extra["input"]), out.image, out.svg


def variations(strokes_json, temperature=0.4, n=8, model=DEFAULT_MODEL):
    """``n`` decodes of the drawing's code at ``temperature`` (seeds 0..n-1), as one grid image."""
    try:
        pipe = load_pipeline("sketch-vae", model)
        z = pipe.encode(_drawing(strokes_json))
        outs = [pipe.decode(z, temperature=float(temperature), seed=i) for i in range(int(n))]
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e
    return render.grid_png([[o.strokes for o in outs]])


def interpolate(strokes_json, target=None, steps=8, model=DEFAULT_MODEL):
    """Slerp from the drawing to an example, decoded (temperature from the config), as one grid row."""
    try:
        pipe = load_pipeline("sketch-vae", model)
        b = example_strokes(target or next(iter(EXAMPLES)))
        outs = pipe.interpolate(_drawing(strokes_json), b, steps=int(steps))
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e
    return render.grid_png([[o.strokes for o in outs]])


def attribute(strokes_json, name=None, strength=1.0, model=DEFAULT_MODEL):
    """The drawing decoded at ``z + α·v`` for α in (−|s|, 0, |s|), ``v`` a stored attribute vector."""
    try:
        pipe = load_pipeline("sketch-vae", model)
        vectors = (pipe.model.config.sketch_vae or {}).get("attributes") or {}
        if name not in vectors:
            raise gr.Error(
                "This model stores no attribute vectors." if not vectors else f"Unknown attribute {name}"
            )
        v = np.asarray(vectors[name]["vector"], dtype=np.float32)
        s = abs(float(strength))
        outs = pipe.attribute(_drawing(strokes_json), v, strengths=[-s, 0.0, s])
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e
    return render.grid_png([[o.strokes for o in outs]])


CITATION = 'Ha & Eck 2017, "A Neural Representation of Sketch Drawings", arXiv:1704.03477 (ICLR 2018).'
HOW_IT_WORKS = """
1. A drawing is a sequence of pen moves: Δx, Δy and the pen's state (down, lifted, end of drawing).
2. A bidirectional LSTM encoder reads the whole sequence and gives a 64-number latent code `z` (a variational
   autoencoder: a mean and a spread, sampled during training).
3. An LSTM decoder conditioned on `z` draws it back one move at a time, each move sampled from a mixture of
   Gaussians; the temperature scales how adventurous the sampling is.
4. Similar drawings get nearby codes, so moving in `z` makes sense: variations (sampling again from the same `z`),
   interpolation (spherical, between two codes) and attribute vectors (`z ± α·v`).
"""


def build_demo(model: str = DEFAULT_MODEL) -> gr.Blocks:
    pipe = load_pipeline("sketch-vae", model)  # loaded (and built) once, before the first request
    attributes = sorted(((pipe.model.config.sketch_vae or {}).get("attributes") or {}).keys())
    names = list(EXAMPLES)
    with gr.Blocks(title="hfmech · Sketch analogies") as demo:
        gr.Markdown(
            "## sketch-rnn — drawings as vectors (Ha & Eck 2017)\n"
            "Draw with the mouse (a character, a letter, a symbol: the model learnt Omniglot's handwritten "
            "alphabets). The encoder reads your pen strokes in order and gives a 64-number code `z`; the decoder "
            "draws from it, stroke by stroke. Temperature sets how adventurous the decoder is."
        )
        with gr.Row():
            with gr.Column():
                gr.HTML(CANVAS_HTML, js_on_load=CANVAS_JS, elem_id="sketch-canvas-block")
                strokes = gr.Textbox(visible="hidden", elem_id="sketch-strokes", label="strokes (JSON)")
                example = gr.Dropdown(names, value=names[0], label="…or start from an example")
                use_example = gr.Button("Use example", elem_id="sketch-use-example")
                temperature = gr.Slider(0.01, 1.0, value=0.1, step=0.01, label="Temperature")
                seed = gr.Number(value=0, precision=0, label="Seed")
                run = gr.Button("Reconstruct", variant="primary", elem_id="sketch-reconstruct")
            with gr.Column():
                seen = gr.Image(label="What the model read", type="pil", elem_id="sketch-input")
                recon = gr.Image(label="Reconstruction", type="pil", elem_id="sketch-recon")
                svg = gr.Textbox(label="Reconstruction (SVG)", lines=2, max_lines=4, buttons=["copy"])
                how_it_works(figure_of(__file__), CITATION, HOW_IT_WORKS)
        with gr.Tab("Variations"):
            var_t = gr.Slider(0.05, 1.0, value=0.4, step=0.05, label="Temperature")
            var_btn = gr.Button("Sample 8 variations")
            var_img = gr.Image(label="Variations", type="pil")
        with gr.Tab("Interpolate"):
            target = gr.Dropdown(names, value=names[-1], label="To example")
            steps = gr.Slider(3, 12, value=8, step=1, label="Steps")
            int_btn = gr.Button("Interpolate (slerp)")
            int_img = gr.Image(label="Latent path", type="pil")
        with gr.Tab("Attribute"):
            attr = gr.Dropdown(
                attributes, value=attributes[0] if attributes else None, label="Attribute vector"
            )
            strength = gr.Slider(0.0, 2.0, value=1.0, step=0.25, label="Strength α (shows −α, 0, +α)")
            attr_btn = gr.Button("Apply")
            attr_img = gr.Image(label="z − αv, z, z + αv", type="pil")

        def _reconstruct(strokes, temperature, seed):
            return reconstruct(strokes, temperature, seed, model)

        def _variations(strokes, temperature):
            return variations(strokes, temperature, 8, model)

        def _interpolate(strokes, target, steps):
            return interpolate(strokes, target, steps, model)

        def _attribute(strokes, name, strength):
            return attribute(strokes, name, strength, model)

        def _use_example(name):
            return name

        use_example.click(_use_example, inputs=example, outputs=strokes, api_name="use_example").then(
            _reconstruct, inputs=[strokes, temperature, seed], outputs=[seen, recon, svg]
        )
        run.click(
            _reconstruct,
            inputs=[strokes, temperature, seed],
            outputs=[seen, recon, svg],
            api_name="reconstruct",
        )
        var_btn.click(_variations, inputs=[strokes, var_t], outputs=var_img, api_name="variations")
        int_btn.click(_interpolate, inputs=[strokes, target, steps], outputs=int_img, api_name="interpolate")
        attr_btn.click(_attribute, inputs=[strokes, attr, strength], outputs=attr_img, api_name="attribute")
    return configure(demo)  # bounded queue, one run per event at a time


__all__ = ["build_demo", "attribute", "interpolate", "reconstruct", "variations"]
