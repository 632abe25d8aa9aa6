"""Golden bitstreams: the exact bytes of small encodes, and of their decodes.

A failure here means the format or the codec's output changed.  If that was the
intent, bump the format version where old files no longer decode, and update the
hashes in the same commit, saying why.
"""

import hashlib

import numpy as np
import pytest

import hybridcodec
from golden_inputs import pattern

GOLDEN = [
    ('baseline', (16, 16, 3), 75, 311, "b80773610d3190a8832269059b5cbd4725f374550cd264fb3cbc6762b56968b0", "ddf4e2c0a4a04dd513782ec7c41fdbd0814859bd6064bff7983a524a742b6fff"),
    ('ycbcr|dct(block=4)|jpegq|huffman', (9, 7, 1), 50, 152, "e9906f27fdaaa9f4930727a7aea1db26e7992d48d090e913d148bbf5a357c599", "26da4a3e5e3092361ab375837cd2f53aabf04afcf981120349e8cc07a3ec05a4"),
    ('ycbcr(subsampling=444)|dct(block=16)|jpegq|huffman', (20, 20, 3), 90, 1244, "8f24ffcb512053015ad2966ed3c2e23e3a81c33c8458349d8dfb6b3edf9283fe", "dea593a0cf1a946cde34bcdf9d4ddd71dc3b2928b88b5fdfb6db190616fd37eb"),
    ('ycbcr(subsampling=422)|dct|jpegq(table=flat)|huffman', (13, 24, 3), 20, 381, "f274207bba8c3d01b51638e7bd798ab5435290652d479caef944634bf63e5402", "ba69d45d0cd4b952364dd16d7cc31a5d7978de0ef904ac9794eff61b13b3acab"),
    ('wavelet', (16, 16, 3), 75, 461, "d010d8905ef8ca25f0c7f94754b7c0de884e2b1b05e63aaccef1f1f2bf478a0d", "5341b42b6aad60e5b37cf4b24a30a9eea8512d4cab783d62ee7e03fece9d29e2"),
    ('dct-arith', (13, 24, 3), 40, 246, "f10915e6a8b1324359402c719e7f044b273238da009a6e1c88fd4b8109ee8eeb", "0f0a09b4626ac0a424924ae19b4aedc6f3498bd025e694f80690eafdb6d64ed7"),
    ('lossless', (9, 7, 3), 75, 163, "c5fc722bb7489a87d05692adc358948a47ce7f6579580dc4a2ab00f7795f82e5", "e7ed6367f7510ad20c289e2e3fe287c4951b99d1473cbb9c49cd426e4a0c59c4"),
    ('lossless', (12, 5, 1), 75, 124, "39a283cca8aa3f525ddac91f37841b4934d9852522e55f796a7ee2833fa7da31", "1dea2e881a76b284da8891395841cec33c08768fcbaf86b824692303f78ac401"),
    ('ycbcr|dwt(wavelet=db2,mode=symmetric,levels=2)|deadzone|arith', (20, 20, 3), 60, 470, "47eb0534f2e908fa6569a18c25ba337643b571d7b7ff56132b49dd583b96b31c", "db93659293ea3346103ee0ee904da360cc15a129b1092e10aa8771515956d30a"),
    ('wavelet', (10, 14, 4), 70, 464, "38fead64eb59e8466d44ea881705be235df0c986c8f5c6a2ebbeb39c6a081d17", "cfca9e30895bd0a9586f68120c72308be629e31a38e8ec7d172026942937d210"),
]

# A 1x1 grey pixel of value 200 with the baseline preset, byte for byte:
# magic, version 1, flags 0, width 1, height 1, 1 channel, 8 bits, quality 7500/100,
# spec length 0x4b and the spec, 1 chunk, header CRC; chunk "DATA" for stage 3,
# 8 bytes: DC table (max length 1, one code, symbol 7), AC table (EOB only), then
# bits 0 1001000 0 1111111: DC code, DC 72 (= 8 * (200 - 128) / step 8) in 7 bits,
# EOB code, 1-bit padding; chunk CRC.
ONE_PIXEL = bytes.fromhex(
    "894843580d0a1a0a0100000000010000000101081d4c004179636263722873756273616d706c696e673d34"
    "3230297c64637428626c6f636b3d38297c6a70656771287461626c653d616e6e65786b297c687566666d61"
    "6e2829000136049a21444154410300000008010107010100487fb3e8510a"
)


@pytest.mark.parametrize("spec, shape, quality, size, enc_hash, dec_hash", GOLDEN)
def test_golden_bitstreams(spec, shape, quality, size, enc_hash, dec_hash):
    data = hybridcodec.encode(pattern(*shape), pipeline=spec, quality=quality)
    assert len(data) == size
    assert hashlib.sha256(data).hexdigest() == enc_hash
    out = hybridcodec.decode(data)
    assert hashlib.sha256(out.tobytes()).hexdigest() == dec_hash


def test_one_pixel_exact_bytes():
    assert hybridcodec.encode(np.array([[200]], np.uint8), quality=75) == ONE_PIXEL
    assert hybridcodec.decode(ONE_PIXEL).tolist() == [[200]]
