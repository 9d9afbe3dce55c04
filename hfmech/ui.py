"""What every mechanism's Space shares: launch settings (upload limit), user errors as ``gr.Error``, and a
readable message for an image upload Gradio could not decode. Knows no mechanism; no Space borrows from another."""

from __future__ import annotations

import functools

import gradio as gr

from .errors import USER_ERRORS

#: Per-upload limit for every app hfmech launches (Spaces and ``hfmech serve``).
MAX_UPLOAD = "20mb"


def launch_kwargs() -> dict:
    """Keyword arguments for ``Blocks.launch`` shared by every hfmech app."""
    return {"max_file_size": MAX_UPLOAD}


def user_errors_as_gr_error(handler):
    """Decorate a Space handler so hfmech's user errors reach the page as ``gr.Error`` messages (no traceback)."""

    @functools.wraps(handler)
    def wrapped(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except USER_ERRORS as e:
            raise gr.Error(str(e)) from e

    return wrapped


def readable_upload(component: gr.Image) -> gr.Image:
    """Make an unreadable upload to ``component`` a ``gr.Error`` with hfmech's message (see ``load_image``).

    Gradio decodes an upload with Pillow before the handler runs; a failure there becomes a
    ``ComponentProcessingError`` whose text Gradio hides. The message names the uploaded file, not the server path.
    The instance's ``preprocess`` is wrapped rather than subclassing ``gr.Image``: Gradio writes a ``.pyi`` stub
    beside the module of every ``Component`` subclass.
    """
    from .vision.image_io import load_image

    decode = component.preprocess

    def preprocess(payload):
        try:
            return decode(payload)
        except gr.Error:
            raise
        except Exception as err:
            path = getattr(payload, "path", None)
            name = getattr(payload, "orig_name", None) or "the uploaded file"
            try:
                load_image(path)
            except USER_ERRORS as e:
                raise gr.Error(str(e).replace(str(path), name)) from err
            except Exception:
                pass
            raise gr.Error(f"Could not read {name} as an image ({type(err).__name__}).") from err

    component.preprocess = preprocess
    return component


__all__ = ["MAX_UPLOAD", "launch_kwargs", "readable_upload", "user_errors_as_gr_error"]
