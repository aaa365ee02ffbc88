"""The live view: an ipywidget whose traits follow the store (it never does networking).

>>> view = lab.live(provider="stripe")    # shown as a widget in a notebook
>>> view
HookLab live view: 1 capture
>>> view.close()
"""

from .view import LiveView

__all__ = ["LiveView"]
