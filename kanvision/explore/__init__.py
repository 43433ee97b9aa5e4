"""Explore a trained KAN in the browser: see its edges, click one, do surgery, watch the effect.

``python -m kanvision.explore --model kan_convnet --pretrained mnist --data.name mnist`` starts a
local server (127.0.0.1) with the page; :class:`ExploreSession` is the same thing from Python
(the page calls its methods), so edits made in the page and in code give the same numbers.
"""

from kanvision.explore.edits import EDITS, apply_edits, register_edit
from kanvision.explore.session import ExploreSession

__all__ = ["EDITS", "ExploreSession", "apply_edits", "register_edit"]
