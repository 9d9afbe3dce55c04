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
from ..ui import (
    configure,
    download_file,
    download_name,
    event_kwargs,
    examples_kwargs,
    figure_of,
    how_it_works,
)

DEFAULT_MODEL = "glove-6b-50d"
DEFAULT_QUERY = "man:king::woman:?"
METHODS = ("3cosadd", "3cosmul", "pairdirection")
EXAMPLES = [
    "man:king::woman:?",
    "paris - france + italy",
    "walking:walked::swimming:?",
    "big:bigger::small:?",
    "japan:tokyo::germany:?",
    "good:better::bad:?",
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


def _csv(query: str, rows) -> str:
    """The answers as a CSV file for download, named after the query."""
    text = "word,score\n" + "".join(f"{w},{s}\n" for w, s in rows)
    name = download_name("analogy", query.replace("?", "x"), suffix=".csv")
    return download_file(name, lambda p: p.write_text(text, encoding="utf-8"))


CITATION = (
    'Mikolov, Yih & Zweig 2013, "Linguistic Regularities in Continuous Space Word Representations", '
    'NAACL; Levy & Goldberg 2014, "Linguistic Regularities in Sparse and Explicit Word Representations", '
    "CoNLL."
)
HOW_IT_WORKS = """
1. Every word is a vector (GloVe 6B, 50 dimensions, trained on word co-occurrences in Wikipedia + Gigaword).
2. `a:b::c:?` asks for the word `d` whose offset from `c` is most like the offset from `a` to `b`:
   **3CosAdd** ranks words by cos(d, b − a + c) (Mikolov, Yih & Zweig 2013); **3CosMul** multiplies the
   similarities instead of adding them, so no single term dominates (Levy & Goldberg 2014); **PairDirection**
   compares the directions d − c and b − a only.
3. The query words themselves are excluded from the answers; candidates are the 30,000 most frequent words.
"""


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
            with gr.Column():
                table = gr.Dataframe(
                    headers=["word", "score"],
                    datatype=["str", "number"],
                    label="Answers",
                    interactive=False,
                    elem_id="analogy-results",
                )
                plot = gr.Plot(label="Parallelogram", elem_id="analogy-plot")
                download = gr.File(label="Download (CSV)", elem_id="analogy-download", interactive=False)
                how_it_works(figure_of(__file__), CITATION, HOW_IT_WORKS)

        # a named function, not a lambda: its parameter names are the API's (``Client.predict(query=...)``)
        def analogy(query, method, topn):
            """Solve a word analogy by vector arithmetic on GloVe.

            Args:
                query: an analogy a:b::c:? or an expression such as king - man + woman.
                method: 3cosadd, 3cosmul or pairdirection.
                topn: number of answers (1-25).
            Returns:
                the ranked answers (word, score), the parallelogram plot and the answers as CSV.
            """
            rows, figure = solve_analogy(query, method, topn, model=model)
            return rows, figure, _csv(str(query), rows)

        def example(query):
            return analogy(query, default_method, 10)

        outputs = [table, plot, download]
        run.click(analogy, inputs=[query, method, topn], outputs=outputs, **event_kwargs("analogy"))
        query.submit(analogy, inputs=[query, method, topn], outputs=outputs, api_visibility="private")
        gr.Examples(
            [[q] for q in EXAMPLES],
            inputs=query,
            outputs=outputs,
            fn=example,
            api_name="analogy_example",
            label="Examples (click one)",
            elem_id="analogy-examples",
            **examples_kwargs(),
        )
    return configure(demo)
