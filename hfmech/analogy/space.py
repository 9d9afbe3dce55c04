"""The word-analogy Space: ``man:king::woman:?`` (or ``king - man + woman``) in; ranked answers and the
parallelogram plot out.

``spaces/word-analogy/app.py`` is just ``demo = build_demo()``; ``hfmech serve`` renders the same Blocks in a tab.
Every user error (unknown words with close spellings, a malformed query, a bad setting) reaches the page (and
``gradio_client``, as ``AppError``) as a ``gr.Error`` with hfmech's message.
"""

from __future__ import annotations

import gradio as gr

from ..errors import USER_ERRORS
from ..hub import load_pipeline

DEFAULT_MODEL = "glove-6b-50d"
DEFAULT_QUERY = "man:king::woman:?"
METHODS = ("3cosadd", "3cosmul", "pairdirection")
EXAMPLES = [
    "man:king::woman:?",
    "paris - france + italy",
    "walking:walked::swimming:?",
    "big:bigger::small:?",
]


def solve_analogy(query, method="3cosadd", topn=10, model=DEFAULT_MODEL):
    """One Space request: ``(rows [[word, score], ...], matplotlib Figure)``. User errors become ``gr.Error``."""
    if query is None or not str(query).strip():
        raise gr.Error(
            "Type an analogy such as 'man:king::woman:?' or an expression such as 'king - man + woman'."
        )
    try:
        pipe = load_pipeline("word-analogy", model)
        answers = pipe(str(query), method=method or None, topn=int(topn), explain=True)
    except USER_ERRORS as e:
        raise gr.Error(str(e)) from e
    rows = [[a["word"], round(float(a["score"]), 4)] for a in answers]
    return rows, answers.figure


def build_demo(model: str = DEFAULT_MODEL) -> gr.Blocks:
    pipe = load_pipeline("word-analogy", model)  # loaded (and built) once, before the first request
    default_method = (pipe.model.config.analogy or {}).get("method", "3cosadd")
    with gr.Blocks(title="hfmech · Word analogy") as demo:
        gr.Markdown(
            "## Word analogies — relations as vector offsets\n"
            "`man : king :: woman : ?` is answered by the word nearest to `king - man + woman` "
            "(Mikolov et al. 2013); 3CosMul and PairDirection are Levy & Goldberg's (2014) alternatives. "
            "The plot projects the words to 2-D: a good analogy is a near-parallelogram."
        )
        with gr.Row():
            with gr.Column():
                query = gr.Textbox(
                    value=DEFAULT_QUERY,
                    label="Analogy or expression",
                    placeholder="man:king::woman:?  or  king - man + woman",
                    elem_id="analogy-query",
                )
                method = gr.Dropdown(choices=list(METHODS), value=default_method, label="Method")
                topn = gr.Slider(1, 25, value=10, step=1, label="Answers")
                run = gr.Button("Solve", variant="primary", elem_id="analogy-run")
                gr.Examples(EXAMPLES, inputs=query)
            with gr.Column():
                table = gr.Dataframe(
                    headers=["word", "score"],
                    datatype=["str", "number"],
                    label="Answers",
                    interactive=False,
                    elem_id="analogy-results",
                )
                plot = gr.Plot(label="Parallelogram", elem_id="analogy-plot")

        # a named function, not a lambda: its parameter names are the API's (``Client.predict(query=...)``)
        def analogy(query, method, topn):
            return solve_analogy(query, method, topn, model=model)

        run.click(analogy, inputs=[query, method, topn], outputs=[table, plot], api_name="analogy")
        query.submit(analogy, inputs=[query, method, topn], outputs=[table, plot], api_visibility="private")
    return demo
