"""KAN layers: basis families (one file each) and the layers built on them."""

# importing each family's module registers it
from kanvision.layers import bspline as _bspline  # noqa: F401
from kanvision.layers import chebyshev as _chebyshev  # noqa: F401
from kanvision.layers import fourier as _fourier  # noqa: F401
from kanvision.layers import gram as _gram  # noqa: F401
from kanvision.layers import legendre as _legendre  # noqa: F401
from kanvision.layers import rational as _rational  # noqa: F401
from kanvision.layers import rbf as _rbf  # noqa: F401
from kanvision.layers import wavelet as _wavelet  # noqa: F401
from kanvision.layers.basis import Basis, create_basis, list_bases, register_basis
from kanvision.layers.bspline import BSplineBasis, cardinal_bspline
from kanvision.layers.chebyshev import ChebyshevBasis
from kanvision.layers.fourier import FourierBasis
from kanvision.layers.fused import set_compile
from kanvision.layers.gram import GramBasis
from kanvision.layers.kan_conv import KANConv1d, KANConv2d, KANConv3d
from kanvision.layers.kan_layer import KANLayer, set_recompute_expand
from kanvision.layers.kan_linear import KANLinear
from kanvision.layers.kan_mlp import KANMlp
from kanvision.layers.legendre import LegendreBasis
from kanvision.layers.rational import RationalBasis
from kanvision.layers.rbf import RBFBasis
from kanvision.layers.wavelet import WaveletBasis

__all__ = [
    "BSplineBasis",
    "Basis",
    "ChebyshevBasis",
    "FourierBasis",
    "GramBasis",
    "KANConv1d",
    "KANConv2d",
    "KANConv3d",
    "KANLayer",
    "KANLinear",
    "KANMlp",
    "LegendreBasis",
    "RBFBasis",
    "RationalBasis",
    "WaveletBasis",
    "cardinal_bspline",
    "create_basis",
    "list_bases",
    "register_basis",
    "set_compile",
    "set_recompute_expand",
]
