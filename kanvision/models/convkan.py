"""The small conv-KAN families of the Convolutional KAN paper (Bodner et al., 2024).

Two unpadded 3x3 conv layers, each followed by BN and a 2x2 max-pool, then a flatten head:

- ``kkan_*``: KAN convs and a KAN linear head (``kan_where="all"``);
- ``kanc_mlp_*``: KAN convs and a plain two-layer MLP head (``kan_where="convs"``);
- ``conv_kan_*``: plain convs and a KAN linear head (``kan_where="head"``).

They are one architecture with three KAN placements, so any of them can be turned into another
with ``kan_where=``; ``kan="none"`` gives the shared standard CNN. The widths are ours (small:
8, 16; medium: 16, 32): our KAN conv connects every input channel to every output channel,
unlike the paper's per-channel KAN kernels, so the paper's widths do not carry over.
"""

from __future__ import annotations

from kanvision.models.convnet import build_convnet
from kanvision.models.registry import register_variant

_SIZES = {"small": ((8, 16), 64), "medium": ((16, 32), 128)}
_FAMILIES = {
    "kkan": ("all", "KKAN ({size}): KAN convs {widths} and a KAN linear head."),
    "kanc_mlp": ("convs", "KAN convs {widths} and a plain MLP head (hidden {hidden})."),
    "conv_kan": ("head", "Plain convs {widths} and a KAN linear head (Bodner et al.'s Conv & KAN)."),
}

for _family, (_where, _doc) in _FAMILIES.items():
    for _size, (_widths, _hidden) in _SIZES.items():
        register_variant(
            f"{_family}_{_size}",
            build_convnet,
            _doc.format(size=_size, widths=_widths, hidden=_hidden),
            kan_where=_where,
            widths=_widths,
            padding=0,
            head_hidden=_hidden if _where == "convs" else None,
        )
