"""The .hcx container, for tools that take files apart (fuzzers, inspectors, format
tests): the header, the chunks, and writing them back.  The layout is in
docs/FORMAT.md; :func:`hybridcodec.decode` is what reads pixels.

Examples
--------
>>> import numpy as np, hybridcodec
>>> from hybridcodec.container import read_container, write_container
>>> data = hybridcodec.encode(np.zeros((8, 8, 3), np.uint8), preset="wavelet")
>>> header, chunks = read_container(data)
>>> (header.width, header.height), [c.type for c in chunks][:1]
((8, 8), [b'DATA'])
>>> write_container(header, chunks) == data
True
"""

from ._container import VERSION, Chunk, Header, read_container, write_container

__all__ = ["Header", "Chunk", "read_container", "write_container", "VERSION"]
