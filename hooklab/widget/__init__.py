"""The live view: an ipywidget whose traits follow the store (it never does networking).

>>> lab.live(provider="stripe")     # doctest: +SKIP
"""

from .view import LiveView

__all__ = ["LiveView"]
