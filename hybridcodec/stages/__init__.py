"""Built-in stages.  Importing this package registers them."""

from . import alf, arith, color, dct, deadzone, dwt, huffman, jpeg_quantizer, rans, rct  # noqa: F401  (registration)
