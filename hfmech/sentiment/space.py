"""The sentiment-neuron Space: a review in → label, the unit's value and a per-character heatmap; a clamp slider →
a generated review.

``spaces/sentiment-neuron/app.py`` is just ``demo = build_demo()``; ``hfmech serve`` renders the same Blocks in a tab.
User errors (empty text, invalid input, a model without a sentiment unit) reach the page (and ``gradio_client``, as
``AppError``) as ``gr.Error`` with hfmech's message. The Space reads at most ``MAX_CHARS`` characters per request
(the byte recurrence is sequential; the library itself has no limit).
"""

from __future__ import annotations

import html

import gradio as gr

from ..errors import USER_ERRORS
from ..hub import load_pipeline

DEFAULT_MODEL = "mlstm-imdb"
DEFAULT_REVIEW = (
    "This movie was a complete waste of time. The plot made no sense, but the ending was wonderful!"
)
DEFAULT_PROMPT = "This movie"
MAX_CHARS = 5000
EXAMPLES = [
    "One of the best films I have seen in years: moving, funny and beautifully shot.",
    "Terrible acting, a lazy script and two hours I will never get back.",
    DEFAULT_REVIEW,
]


def heatmap_html(text: str, values: list[float], polarity: int = 1, threshold: float = 0.0) -> str:
    """One ``<span>`` per character, green for positive and red for negative (``polarity·(value − threshold)``,
    scaled by the largest magnitude); the value is in each span's ``title``."""
    signed = [polarity * (v - threshold) for v in values]
    scale = max((abs(s) for s in signed), default=1.0) or 1.0
    spans = []
    for ch, v, s in zip(text, values, signed):
        a = min(abs(s) / scale, 1.0)
        rgb = "34,160,70" if s > 0 else "214,39,40"
        spans.append(
            f'<span title="{v:+.3f}" style="background: rgba({rgb},{a:.2f})">{html.escape(ch)}</span>'
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


def read_review(text, model=DEFAULT_MODEL):
    """One request: ``(label probabilities, unit value, heatmap HTML)``."""
    text = _check_text(text, "review")
    try:
        pipe = load_pipeline("sentiment-neuron", model)
        out = pipe(text)
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e
    cfg = pipe.model.config
    p_label = float(out["score"])
    other = "NEGATIVE" if out["label"] == "POSITIVE" else "POSITIVE"
    label = {out["label"]: p_label, other: 1.0 - p_label}
    return label, round(out["value"], 4), heatmap_html(out["text"], out["trace"], cfg.polarity, cfg.threshold)


def generate_review(prompt, sentiment=1.0, max_bytes=200, seed=0, model=DEFAULT_MODEL):
    """One request: the prompt continued with the sentiment unit held at ``polarity·sentiment`` (0: no clamp)."""
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


def build_demo(model: str = DEFAULT_MODEL) -> gr.Blocks:
    pipe = load_pipeline("sentiment-neuron", model)  # loaded (and built) once, before the first request
    cfg = pipe.model.config
    span = max(4.0, 4 * abs(cfg.clamp_value))
    with gr.Blocks(title="hfmech · Sentiment neuron") as demo:
        gr.Markdown(
            "## The sentiment neuron — one unit of a byte-level language model\n"
            f"A {cfg.hidden_size}-unit multiplicative LSTM trained only to predict the next byte of reviews "
            "(Radford, Jozefowicz & Sutskever 2017). "
            f"Unit **{cfg.sentiment_unit}** of its cell state tracks sentiment: its final value labels the review, "
            "and the heatmap shows its value after every character (green positive, red negative). "
            "Clamping the unit while sampling steers the generated review."
        )
        with gr.Row():
            with gr.Column():
                review = gr.Textbox(value=DEFAULT_REVIEW, lines=5, label="Review", elem_id="sentiment-review")
                run = gr.Button("Read", variant="primary", elem_id="sentiment-run")
                gr.Examples(EXAMPLES, inputs=review)
            with gr.Column():
                label = gr.Label(label="Sentiment", elem_id="sentiment-label")
                value = gr.Number(label=f"Unit {cfg.sentiment_unit} final value", elem_id="sentiment-value")
        heatmap = gr.HTML(label="Per-character unit value", elem_id="sentiment-heatmap")
        gr.Markdown("### Generate with the unit clamped")
        with gr.Row():
            with gr.Column():
                prompt = gr.Textbox(value=DEFAULT_PROMPT, label="Prompt", elem_id="sentiment-prompt")
                sentiment = gr.Slider(
                    -span,
                    span,
                    value=abs(cfg.clamp_value),
                    step=0.05,
                    label="Clamp (positive → positive review; 0 = free sampling)",
                    elem_id="sentiment-clamp",
                )
                max_bytes = gr.Slider(20, 400, value=200, step=10, label="Bytes to generate")
                seed = gr.Number(value=0, precision=0, label="Seed")
                gen = gr.Button("Generate", variant="primary", elem_id="sentiment-generate")
            generated = gr.Textbox(label="Generated review", lines=6, elem_id="sentiment-generated")

        # named functions, not lambdas: their parameter names are the API's (``Client.predict(text=...)``)
        def read(text):
            return read_review(text, model=model)

        def write(prompt, sentiment, max_bytes, seed):
            return generate_review(prompt, sentiment, max_bytes, seed, model=model)

        run.click(read, inputs=[review], outputs=[label, value, heatmap], api_name="read")
        gen.click(
            write, inputs=[prompt, sentiment, max_bytes, seed], outputs=[generated], api_name="generate"
        )
    return demo
