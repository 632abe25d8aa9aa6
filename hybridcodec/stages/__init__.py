"""Built-in stages.  Importing this package registers them."""

from . import color, dct, huffman, jpeg_quantizer  # noqa: F401  (registration side effect)
