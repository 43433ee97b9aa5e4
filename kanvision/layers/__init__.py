"""KAN layers: basis families (one file each) and the layers built on them."""

from kanvision.layers import bspline as _bspline  # noqa: F401  (registers the basis)
from kanvision.layers.basis import Basis, create_basis, list_bases, register_basis
from kanvision.layers.bspline import BSplineBasis, cardinal_bspline
from kanvision.layers.kan_conv import KANConv1d, KANConv2d, KANConv3d
from kanvision.layers.kan_layer import KANLayer
from kanvision.layers.kan_linear import KANLinear

__all__ = [
    "Basis",
    "BSplineBasis",
    "KANConv1d",
    "KANConv2d",
    "KANConv3d",
    "KANLayer",
    "KANLinear",
    "cardinal_bspline",
    "create_basis",
    "list_bases",
    "register_basis",
]
