"""The sentiment-neuron Space: a review in → label (or "UNCALIBRATED"), the unit's value, its measured accuracy and a
per-character (mLSTM) or per-token (causal LM) heatmap; a clamp slider → generated text with the unit held fixed.

``spaces/sentiment-neuron/app.py`` is just ``demo = build_demo()``; ``hfmech serve`` renders the same Blocks in a tab.
The default model is :data:`~hfmech.sentiment.pipeline_sentiment_neuron.DEFAULT_MODEL`. A unit whose measured
accuracy is below :data:`~hfmech.sentiment.pipeline_sentiment_neuron.UNIT_ACCURACY_FLOOR` gets no label: the page says
"UNCALIBRATED" and why. User errors (empty text, invalid input, a model without a sentiment unit) reach the page (and
``gradio_client``, as ``AppError``) as ``gr.Error`` with hfmech's message. The Space reads at most ``MAX_CHARS``
characters per request.
"""

from __future__ import annotations

import html

import gradio as gr

from ..errors import USER_ERRORS
from ..hub import load_pipeline
from ..ui import configure, figure_of, how_it_works
from .pipeline_sentiment_neuron import DEFAULT_MODEL, UNIT_ACCURACY_FLOOR, neuron_spec

__all__ = ["DEFAULT_MODEL", "build_demo", "describe_model", "generate_review", "heatmap_html", "read_review"]

POSITIVE_EXAMPLE = "One of the best films I have seen in years: moving, funny and beautifully shot."
NEGATIVE_EXAMPLE = "Terrible acting, a lazy script and two hours I will never get back."
DEFAULT_REVIEW = POSITIVE_EXAMPLE
DEFAULT_PROMPT = "This movie"
MAX_CHARS = 5000
EXAMPLES = [
    POSITIVE_EXAMPLE,
    NEGATIVE_EXAMPLE,
    "This movie was a complete waste of time. The plot made no sense, but the ending was wonderful!",
]


def heatmap_html(pieces, values: list[float], polarity: int = 1, threshold: float = 0.0) -> str:
    """One ``<span>`` per piece (a character of the text, or a token), green where ``polarity·(value − threshold)``
    is positive and red where negative, scaled by the largest magnitude; the value is in each span's ``title``."""
    signed = [polarity * (v - threshold) for v in values]
    scale = max((abs(s) for s in signed), default=1.0) or 1.0
    spans = []
    for piece, v, s in zip(pieces, values, signed):
        a = min(abs(s) / scale, 1.0)
        rgb = "34,160,70" if s > 0 else "214,39,40"
        spans.append(
            f'<span title="{v:+.3f}" style="background: rgba({rgb},{a:.2f})">{html.escape(piece)}</span>'
        )
    return (
        '<div id="sentiment-heatmap-text" style="font-family: monospace; line-height: 1.8; white-space: pre-wrap">'
        + "".join(spans)
        + "</div>"
    )


def _check_text(text, what: str) -> str:
    if text is None or not str(text).strip():
        raise gr.Error(f"Type some {what} first.")
    if len(str(text)) > MAX_CHARS:
        raise gr.Error(
            f"The {what} is {len(str(text)):,} characters; this Space reads at most {MAX_CHARS:,}."
        )
    return str(text)


def _accuracy_line(out_or_spec) -> str:
    acc = getattr(out_or_spec, "unit_accuracy", None)
    measured = getattr(out_or_spec, "measured_on", None)
    if isinstance(out_or_spec, dict):
        acc, measured = out_or_spec.get("unit_accuracy"), out_or_spec.get("measured_on")
    if acc is None:
        return "Unit accuracy: never measured — no label is shown."
    verdict = (
        "at chance: no label is shown"
        if acc < UNIT_ACCURACY_FLOOR
        else "above the floor: the label is the unit's reading"
    )
    return (
        f"Unit accuracy: **{100 * acc:.1f} %** on {measured} (chance 50 %, floor {100 * UNIT_ACCURACY_FLOOR:.0f} %; "
        f"{verdict})."
    )


def describe_model(pipe) -> str:
    """The Space's header: what the model is, where its unit lives, and how well that unit was measured to read
    sentiment (no claim beyond the measurement)."""
    spec = neuron_spec(pipe.model)
    cfg = pipe.model.config
    if spec.family == "mlstm":
        what = (
            f"A {cfg.hidden_size}-unit byte-level multiplicative LSTM trained only to predict the next byte "
            f"(Radford, Jozefowicz & Sutskever 2017). Unit **{spec.unit}** of its final `{spec.site}` state is the "
            "one the L1 probe weighted most; the heatmap shows its value after every character."
        )
    else:
        where = "MLP activations" if spec.site == "mlp" else "residual stream"
        what = (
            f"A transformer language model (`{type(pipe.model).__name__}`). Unit **{spec.unit}** of layer "
            f"**{spec.layer}**'s {where}, {spec.pool}-pooled over the tokens, is the unit an L1 probe found "
            "(the method of Radford, Jozefowicz & Sutskever 2017); the heatmap shows its activation at every "
            "token (green above its threshold, red below)."
        )
    return (
        "## The sentiment neuron — one unit of a language model\n"
        + what
        + " Clamping the unit while sampling holds it fixed at every position.\n\n"
        + _accuracy_line(spec)
    )


def read_review(text, model=DEFAULT_MODEL):
    """One request: ``(label or "UNCALIBRATED", unit value, accuracy / reason, heatmap HTML)``."""
    text = _check_text(text, "review")
    try:
        pipe = load_pipeline("sentiment-neuron", model)
        out = pipe(text)
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e
    spec = neuron_spec(pipe.model)
    if out["label"] is None:
        label = "UNCALIBRATED"
        note = out["message"]
    else:
        p_label = float(out["score"])
        other = "NEGATIVE" if out["label"] == "POSITIVE" else "POSITIVE"
        label = {out["label"]: p_label, other: 1.0 - p_label}
        note = _accuracy_line(out)
    if "tokens" in out:
        heat = heatmap_html(out["tokens"], out["token_values"], spec.polarity, spec.threshold)
    else:
        heat = heatmap_html(out["text"], out["trace"], spec.polarity, spec.threshold)
    return label, round(out["value"], 4), note, heat


def generate_review(prompt, sentiment=1.0, max_bytes=200, seed=0, model=DEFAULT_MODEL):
    """One request: the prompt continued with the sentiment unit held at ``polarity·sentiment`` (0: no clamp);
    ``max_bytes`` bytes for the mLSTM, ``ceil(max_bytes / 4)`` tokens for a causal LM."""
    prompt = "" if prompt is None else str(prompt)
    if len(prompt) > MAX_CHARS:
        raise gr.Error(f"The prompt is {len(prompt):,} characters; this Space reads at most {MAX_CHARS:,}.")
    try:
        pipe = load_pipeline("sentiment-neuron", model)
        clamp = None if sentiment is None or float(sentiment) == 0.0 else float(sentiment)
        out = pipe.generate(prompt, clamp=clamp, max_bytes=int(max_bytes), seed=int(seed))
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e
    except (TypeError, ValueError) as e:
        raise gr.Error(f"invalid setting: {e}") from e
    return prompt + out["text"]


def steer_review(prompt, strength=8.0, max_bytes=200, seed=0, model=DEFAULT_MODEL):
    """One request: the prompt continued with the model's steering vector added at every position (activation
    addition: its CAA vector when it ships one, else its sentiment direction; ``strength`` > 0 writes positive,
    < 0 negative); causal LMs that ship one only."""
    prompt = "" if prompt is None else str(prompt)
    if len(prompt) > MAX_CHARS:
        raise gr.Error(f"The prompt is {len(prompt):,} characters; this Space reads at most {MAX_CHARS:,}.")
    try:
        pipe = load_pipeline("sentiment-neuron", model)
        out = pipe.generate(
            prompt, steer="direction", strength=float(strength), max_bytes=int(max_bytes), seed=int(seed)
        )
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e
    except (TypeError, ValueError) as e:
        raise gr.Error(f"invalid setting: {e}") from e
    return prompt + out["text"]


def _has_direction(pipe) -> bool:
    if getattr(pipe, "family", None) != "causal-lm":
        return False
    try:
        pipe.steering_vector()
    except USER_ERRORS:
        return False
    return True


CITATION = (
    'Radford, Jozefowicz & Sutskever 2017, "Learning to Generate Reviews and Discovering Sentiment", '
    "arXiv:1704.01444."
)
HOW_IT_WORKS = """
1. A language model trained only to predict the next piece of text reads the review (the default is
   SmolLM2-135M-Instruct; `mlstm-imdb` is the paper's byte-level multiplicative LSTM).
2. One hidden unit, chosen on labelled reviews (in the paper: an L1-regularised logistic regression on the final
   state), is read at the text's end; its value is the sentiment reading, and the heat map shows the reading after
   every token (every character for the mLSTM).
3. A label is shown only when that unit's accuracy, measured on held-out labelled reviews, is at least 60 %.
4. **Clamping** the unit at a positive or negative value at every step while the model writes steers the sentiment
   of what it writes.
"""


def build_demo(model: str = DEFAULT_MODEL) -> gr.Blocks:
    pipe = load_pipeline("sentiment-neuron", model)  # loaded (and built) once, before the first request
    spec = neuron_spec(pipe.model)
    span = max(4.0, 4 * abs(spec.clamp_value))
    per = "character" if spec.family == "mlstm" else "token"
    with gr.Blocks(title="hfmech · Sentiment neuron") as demo:
        gr.Markdown(describe_model(pipe), elem_id="sentiment-about")
        with gr.Row():
            with gr.Column():
                review = gr.Textbox(value=DEFAULT_REVIEW, lines=5, label="Review", elem_id="sentiment-review")
                run = gr.Button("Read", variant="primary", elem_id="sentiment-run")
                gr.Examples(EXAMPLES, inputs=review, elem_id="sentiment-examples")
            with gr.Column():
                label = gr.Label(label="Sentiment (the unit's reading)", elem_id="sentiment-label")
                value = gr.Number(label=f"Unit {spec.unit} value", elem_id="sentiment-value")
                note = gr.Markdown(_accuracy_line(spec), elem_id="sentiment-note")
                how_it_works(figure_of(__file__), CITATION, HOW_IT_WORKS)
        heatmap = gr.HTML(label=f"Per-{per} unit value", elem_id="sentiment-heatmap")
        gr.Markdown("### Generate with the unit clamped")
        with gr.Row():
            with gr.Column():
                prompt = gr.Textbox(value=DEFAULT_PROMPT, label="Prompt", elem_id="sentiment-prompt")
                sentiment = gr.Slider(
                    -span,
                    span,
                    value=abs(spec.clamp_value),
                    step=0.05,
                    label="Clamp (positive → the unit's positive side; 0 = free sampling)",
                    elem_id="sentiment-clamp",
                )
                max_bytes = gr.Slider(
                    20,
                    400,
                    value=200,
                    step=10,
                    label="Bytes to generate"
                    if spec.family == "mlstm"
                    else "Length (bytes; about 4 per token)",
                )
                seed = gr.Number(value=0, precision=0, label="Seed")
                gen = gr.Button("Generate", variant="primary", elem_id="sentiment-generate")
            generated = gr.Textbox(label="Generated text", lines=6, elem_id="sentiment-generated")
        steer_visible = _has_direction(pipe)
        with gr.Row(visible=steer_visible):
            with gr.Column():
                strength = gr.Slider(
                    -24,
                    24,
                    value=8,
                    step=1,
                    label="Or add the model's steering vector (strength; + positive, − negative)",
                    elem_id="sentiment-strength",
                )
                steer = gr.Button("Generate with the direction", elem_id="sentiment-steer")
            steered = gr.Textbox(label="Generated with the direction", lines=6, elem_id="sentiment-steered")

        # named functions, not lambdas: their parameter names are the API's (``Client.predict(text=...)``)
        def read(text):
            return read_review(text, model=model)

        def write(prompt, sentiment, max_bytes, seed):
            return generate_review(prompt, sentiment, max_bytes, seed, model=model)

        def write_steered(prompt, strength, max_bytes, seed):
            return steer_review(prompt, strength, max_bytes, seed, model=model)

        run.click(read, inputs=[review], outputs=[label, value, note, heatmap], api_name="read")
        if steer_visible:
            steer.click(
                write_steered,
                inputs=[prompt, strength, max_bytes, seed],
                outputs=[steered],
                api_name="steer",
            )
        gen.click(
            write, inputs=[prompt, sentiment, max_bytes, seed], outputs=[generated], api_name="generate"
        )
    return configure(demo)  # bounded queue, one run per event at a time
