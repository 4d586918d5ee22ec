"""The read-only web viewer (``rficat serve``): the catalogue, cadence events, lookalikes and RFI
classes in a browser, over the catalogue layer's functions.

Public: ``build_viewer`` (connections), ``create_app`` (the ASGI application), ``serve``.
"""

from rficat.web.app import build_viewer, create_app, serve

__all__ = ["build_viewer", "create_app", "serve"]
