"""Golden bitstreams: the exact bytes of small encodes, and of their decodes.

A failure here means the format or the codec's output changed.  If that was the
intent, bump the format version where old files no longer decode, and update the
hashes in the same commit, saying why.
"""

import hashlib
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hybridcodec
from hybridcodec import CodecError
from hybridcodec._container import SPEC_DICTIONARY, pack_spec, read_container, unpack_spec, write_container
from hybridcodec._pipeline import PRESETS, Pipeline
from hybridcodec.stages.arith import Arith
from golden_inputs import pattern

GOLDEN = [
    ('baseline', (16, 16, 3), 75, 238, "4e1e8119298e85860aec27276230e5c5b21b138720e0473638650a3f775d1ceb", "ddf4e2c0a4a04dd513782ec7c41fdbd0814859bd6064bff7983a524a742b6fff"),
    ('ycbcr|dct(block=4)|jpegq|huffman', (9, 7, 1), 50, 81, "c4a60633e8819f1b23951a691bf4a341428b44cc0607f20eac3b822c3b175e86", "26da4a3e5e3092361ab375837cd2f53aabf04afcf981120349e8cc07a3ec05a4"),
    ('ycbcr(subsampling=444)|dct(block=16)|jpegq|huffman', (20, 20, 3), 90, 1177, "c1d66fe8514568deaf53841e2fea77642fdd075e4660266d6cc692a73152a11e", "dea593a0cf1a946cde34bcdf9d4ddd71dc3b2928b88b5fdfb6db190616fd37eb"),
    ('ycbcr(subsampling=422)|dct|jpegq(table=flat)|huffman', (13, 24, 3), 20, 319, "d5551706cd25478e72ba4850c4496ceb2a298da908472f925dc0005957fa1c8c", "ba69d45d0cd4b952364dd16d7cc31a5d7978de0ef904ac9794eff61b13b3acab"),
    ('wavelet', (16, 16, 3), 75, 330, "0f9fe3140fbe874e75bcf107f1254652547093b8973514c34acd0ea0db1c5a43", "5341b42b6aad60e5b37cf4b24a30a9eea8512d4cab783d62ee7e03fece9d29e2"),
    ('dct-arith', (13, 24, 3), 40, 183, "497b6d3317873d7431baf88c3ad5cbf6416949bda22e9a9961edc5009f472337", "0f0a09b4626ac0a424924ae19b4aedc6f3498bd025e694f80690eafdb6d64ed7"),
    ('lossless', (9, 7, 3), 75, 134, "06b7547ddd45161b17883d9a3c141d8ace1cc9cf8ddb1271e9362296ddda8eff", "e7ed6367f7510ad20c289e2e3fe287c4951b99d1473cbb9c49cd426e4a0c59c4"),
    ('lossless', (12, 5, 1), 75, 87, "e0c56d4d7e27dd15e779faabad69841a9d18f0dc940bdf0fb74ea57fc0c852ca", "1dea2e881a76b284da8891395841cec33c08768fcbaf86b824692303f78ac401"),
    ('ycbcr|dwt(wavelet=db2,mode=symmetric,levels=2)|deadzone|arith', (20, 20, 3), 60, 365, "5a1aca6d982c6ae0220aeef7702bc77f7461d817b28b7cc8c544ee5cc42d2496", "08ba80b895f5fa8378e3b39a9b23ba77be9f3dd16a9147fb44655f1382f128aa"),
    ('hybrid-fast', (48, 64, 3), 40, 2277, "c2b8db6b425332e5d07797cb1780979942f9844a872912465aaf0667e4b7fe26", "6cf0917bb38f9e4d31f98f64bf00b928121cebc28d74e7212ac14fa6dc968b75"),
    ('wavelet', (10, 14, 4), 70, 328, "56b370e6940397391bfb15f9bee7838bd44835bb1c5d8cdbabaa2e12ea2537a0", "cfca9e30895bd0a9586f68120c72308be629e31a38e8ec7d172026942937d210"),
]

# Version 4 (varint sizes and lengths, one-byte chunk types) changed every line again;
# the decodes are the same.

# The same files as version 3 wrote them (before version 4, by the encoder of commit
# 4b676bd), with their decodes.  Version 3 stored the spec deflated, which changed every
# line of version 2's; the db2 line also changed then with the encoder's rate-distortion
# optimised quantization (hybridcodec.entropy.rdoq, encoder only).  Re-packing today's
# file as version 3 must give these bytes, and they must decode.
VERSION_3 = [
    ('baseline', (16, 16, 3), 75, 251, "7de51765504f549d1a66e0b4486424ca921e3e01594754ea61ea365f9df1af76", "ddf4e2c0a4a04dd513782ec7c41fdbd0814859bd6064bff7983a524a742b6fff"),
    ('ycbcr|dct(block=4)|jpegq|huffman', (9, 7, 1), 50, 95, "884a2e9341cac9522ab364cec05e34cc6bc73b90b740dd240d79e817e078f7bc", "26da4a3e5e3092361ab375837cd2f53aabf04afcf981120349e8cc07a3ec05a4"),
    ('ycbcr(subsampling=444)|dct(block=16)|jpegq|huffman', (20, 20, 3), 90, 1190, "680dac5df60e3775a643d9d03a8cec51506db17904a1e732d818f7529cb958e3", "dea593a0cf1a946cde34bcdf9d4ddd71dc3b2928b88b5fdfb6db190616fd37eb"),
    ('ycbcr(subsampling=422)|dct|jpegq(table=flat)|huffman', (13, 24, 3), 20, 332, "30453b669b58f14c3350c3f455f60d84cc3705b1f01e830d03a2eb52a9269ee7", "ba69d45d0cd4b952364dd16d7cc31a5d7978de0ef904ac9794eff61b13b3acab"),
    ('wavelet', (16, 16, 3), 75, 343, "3502bba7939b9a2e7964b8727214bb6ccbbb16eedf66b10d3a1e1c90c4cda2b2", "5341b42b6aad60e5b37cf4b24a30a9eea8512d4cab783d62ee7e03fece9d29e2"),
    ('dct-arith', (13, 24, 3), 40, 196, "3a3a9d2465c94c054fcfeca2e4f6b663a37d51fb1d406201a1e62c569232a6ec", "0f0a09b4626ac0a424924ae19b4aedc6f3498bd025e694f80690eafdb6d64ed7"),
    ('lossless', (9, 7, 3), 75, 148, "7f84021f955c0cde6b74c92318021da794a06ad94eb8d1ea9bbd803a82ada09d", "e7ed6367f7510ad20c289e2e3fe287c4951b99d1473cbb9c49cd426e4a0c59c4"),
    ('lossless', (12, 5, 1), 75, 101, "8d1af6768543b8cfebc02b2c13d6718c64b673b74f9551ac2b7ee1617d0feca5", "1dea2e881a76b284da8891395841cec33c08768fcbaf86b824692303f78ac401"),
    ('ycbcr|dwt(wavelet=db2,mode=symmetric,levels=2)|deadzone|arith', (20, 20, 3), 60, 378, "6bd3a0bc3892d989e84dcaa2f981debc700ab6728c2828decbee39c14e5d54f4", "08ba80b895f5fa8378e3b39a9b23ba77be9f3dd16a9147fb44655f1382f128aa"),
    ('wavelet', (10, 14, 4), 70, 346, "6085e05bf4287aa6ea4db465ae16acd4a59e8e3aea13e4f5afc56d5650695f82", "cfca9e30895bd0a9586f68120c72308be629e31a38e8ec7d172026942937d210"),
]

# The same files as version 2 wrote them (before version 3, by the encoder of commit
# 929985d), with their decodes: the lines of GOLDEN that RDOQ left alone.  Re-packing
# today's file with the spec as plain text (in version 2, or 1 where that held the data)
# must give these bytes, and they must decode.
VERSION_2 = [
    ('baseline', (16, 16, 3), 75, 311, "b80773610d3190a8832269059b5cbd4725f374550cd264fb3cbc6762b56968b0", "ddf4e2c0a4a04dd513782ec7c41fdbd0814859bd6064bff7983a524a742b6fff"),
    ('ycbcr|dct(block=4)|jpegq|huffman', (9, 7, 1), 50, 152, "e9906f27fdaaa9f4930727a7aea1db26e7992d48d090e913d148bbf5a357c599", "26da4a3e5e3092361ab375837cd2f53aabf04afcf981120349e8cc07a3ec05a4"),
    ('ycbcr(subsampling=444)|dct(block=16)|jpegq|huffman', (20, 20, 3), 90, 1244, "8f24ffcb512053015ad2966ed3c2e23e3a81c33c8458349d8dfb6b3edf9283fe", "dea593a0cf1a946cde34bcdf9d4ddd71dc3b2928b88b5fdfb6db190616fd37eb"),
    ('ycbcr(subsampling=422)|dct|jpegq(table=flat)|huffman', (13, 24, 3), 20, 381, "f274207bba8c3d01b51638e7bd798ab5435290652d479caef944634bf63e5402", "ba69d45d0cd4b952364dd16d7cc31a5d7978de0ef904ac9794eff61b13b3acab"),
    ('wavelet', (16, 16, 3), 75, 469, "92749c672763603b96e511092adab1021e4be1c1d66d62c5ac0779815a552127", "5341b42b6aad60e5b37cf4b24a30a9eea8512d4cab783d62ee7e03fece9d29e2"),
    ('dct-arith', (13, 24, 3), 40, 254, "ca2b7b8b2afc429fed01489021c4ef09d837de22e5204a0d219bfd7041686f75", "0f0a09b4626ac0a424924ae19b4aedc6f3498bd025e694f80690eafdb6d64ed7"),
    ('lossless', (9, 7, 3), 75, 171, "dc06f90c6ad5faacfb75a1d048f398f90646489b8e0c484a834d4bea2b60d7f0", "e7ed6367f7510ad20c289e2e3fe287c4951b99d1473cbb9c49cd426e4a0c59c4"),
    ('lossless', (12, 5, 1), 75, 124, "39a283cca8aa3f525ddac91f37841b4934d9852522e55f796a7ee2833fa7da31", "1dea2e881a76b284da8891395841cec33c08768fcbaf86b824692303f78ac401"),
    ('wavelet', (10, 14, 4), 70, 472, "35fb92c280ed9aac52b1a279fbacedd3ca6c2469ce48d4b07effd38758b41189", "cfca9e30895bd0a9586f68120c72308be629e31a38e8ec7d172026942937d210"),
]


# Files written before format version 2 (arith in one stream), by the encoder of commit
# 773d071, with the hash of their decode: what the version-2 files above decode to.
VERSION_1 = [
    ('wavelet', (16, 16, 3), 75, '5341b42b6aad60e5b37cf4b24a30a9eea8512d4cab783d62ee7e03fece9d29e2',
     bytes.fromhex('894843580d0a1a0a0100000000100000001003081d4c008379636263722873756273616d706c696e673d343434297c64777428776176656c65743d62696f72342e342c6c6576656c733d302c6d6f64653d7265666c656374297c646561647a6f6e6528726f756e64696e673d302e33332c7265636f6e3d302e342c6368726f6d613d312e302c69736f6c617465643d302e31297c61726974682829000182b7068644415441030000011ffd91576ef11e4bbb665faa62ee217983eef7c7853f84421adaecafd971da0bfb1e6e44cd4d035a812a8eca4666537ad2e4553155cdfaceaf265bea81923876580e2fb0a1e7708efe2673f3079a37bb96883be9624df838c55de4accd3e9674db136bdcf54f82fd45e2c8074dd00e01fef8f09cb4dffbabe07d023c1663b19bc7c16f0a678f84c5901f50622559efb90f3dbe0dc277fc1c692d3d391d042c722220f5c75414857a04279d23f30491a3dfb38530f048f31283840b1d77f0c0932cac714b27307568eea43ea07f582244bab6c3f62135e672704847463025e12f7bbc9e3af505abc4a43de4182e1cc0ba84647b10d4bfda6e86afd0bb334ad60a5f626d540668191559becd255fb3ca34b98a9908e9f869309faeb32d792516000552680d')),
    ('dct-arith', (13, 24, 3), 40, '0f0a09b4626ac0a424924ae19b4aedc6f3498bd025e694f80690eafdb6d64ed7',
     bytes.fromhex('894843580d0a1a0a0100000000180000000d03080fa0003f79636263722873756273616d706c696e673d343230297c64637428626c6f636b3d38297c6a70656771287461626c653d616e6e65786b297c61726974682829000137dd102044415441030000008cf1ffbdfcffffcfe68baca97b95fea57b9cf1f85a4ab1a396d3827578a8b77ccbe0502462a8c9961197d32828640057a99461180cb2b5d30af399b196e16d138d9c473075ed9f778c310fc39d76a6269ab4eea1b49396145d1b8b0ee3886a52b623e72b5ec32b4105af61749ec1cc1db9d52c154ef205dee60719aaea05db8729a943a4940709c9a82b40000097d97a71')),
    ('lossless', (9, 7, 3), 75, 'e7ed6367f7510ad20c289e2e3fe287c4951b99d1473cbb9c49cd426e4a0c59c4',
     bytes.fromhex('894843580d0a1a0a0100000000070000000903081d4c001d72637428297c696e743533286c6576656c733d30297c61726974682829000141ab6b5144415441020000005bfffff8a7af3d8301346b2a427e3f79440aa447703990e4c239460e30b1f3744c7121a19fe9ab52259a269f766a0f9f96930de328036a9dfe2311376b2397187c8cfa7ff032fa8312554d95639cae49ca2083310da45a3900e767a039366fb6')),
    ('lossless', (12, 5, 1), 75, '1dea2e881a76b284da8891395841cec33c08768fcbaf86b824692303f78ac401',
     bytes.fromhex('894843580d0a1a0a0100000000050000000c01081d4c001d72637428297c696e743533286c6576656c733d30297c617269746828290001d4004c1a444154410200000034fffffb2a2f3d830132fe73b3fe73b837d51ae0afa90bc92490d052a418e18b842d0d48a6e5e9399ca741d8a047e9a6171ba5809d67990965')),
    ('ycbcr|dwt(wavelet=db2,mode=symmetric,levels=2)|deadzone|arith', (20, 20, 3), 60, 'db93659293ea3346103ee0ee904da360cc15a129b1092e10aa8771515956d30a',
     bytes.fromhex('894843580d0a1a0a0100000000140000001403081770008179636263722873756273616d706c696e673d343230297c64777428776176656c65743d6462322c6c6576656c733d322c6d6f64653d73796d6d6574726963297c646561647a6f6e6528726f756e64696e673d302e33332c7265636f6e3d302e342c6368726f6d613d312e302c69736f6c617465643d302e31297c6172697468282900014ae0c9a244415441030000012afffdbe9fc73d7694b20176a4d8de94b35e72db6e444bb71830343c5e7077c9a8d4e4c491e10b073d2849ccdc2a93b9644115d72a79bf7948f5d84420886c206f9686626ecf3324dc57d01916e9072d55d7707a9a92e8005db60abd997b09b576637c2e7321294f230b6af86a8d7ca0cae6477b9735486b8d9c10d5b256768ddb15bf44f0bdec301ffba6538cf956e764d5d039370b301deb31e5959855f6f5b845e9823c9a5feec9a57a6d2ef5ac70c13c9e8798db244c6cca0633703ebd0996ce0c0a04a2f6dc87a33a0eec17eeecd9791f2d7d0701678616ffd5f5d48aa593a548423ea0e960f5d5f901b196ef7841d181c4cabd8b100ffb8ee6f3e8e5be1aee52b34d305f2954687461560f4b466cbf8023299cf4a892c557c4b5ed9bb1fa8cad8c77570c827efa00a4e662c1')),
    ('wavelet', (10, 14, 4), 70, 'cfca9e30895bd0a9586f68120c72308be629e31a38e8ec7d172026942937d210',
     bytes.fromhex('894843580d0a1a0a01000000000e0000000a04081b58008379636263722873756273616d706c696e673d343434297c64777428776176656c65743d62696f72342e342c6c6576656c733d302c6d6f64653d7265666c656374297c646561647a6f6e6528726f756e64696e673d302e33332c7265636f6e3d302e342c6368726f6d613d312e302c69736f6c617465643d302e31297c617269746828290002fe57ce3a444154410300000088fb10a62f7c46266f05b2391ae67bb795a06510171252b8016406ba32ad5fa61b6b074575fe67ca9e46ecbb1ef87afb397a18c874c4da02b2d57a545f50e029dff25b01abe66c336ee45265e4ce4ef3d3e593891dbd46d44e50c4cab0ee6add1b1d9507452a19dc8628ebe7b87547df5d60c11fe7f0a7ba92a957fb5e5ee06f88db446bdae2988c2e3ef4258e414c5048ff0000008dff7fb9ffcfcd8470927dedcb90b8bca7539cecc3b4b5b5c5d05eaae877d16f9f334df95ec43daf971a6231517b7d834d3cf5a1861a1e748b1e97cc10e31ce14dece772f23598af9c4cbd3c353dd28b0c8ba49d8c4395fc6142aee18f91185472ffaab2fa37ca3e054d8b4beec31afc6c2403316cf56a90f66ab31b98e41cf6f6b9f63343995bfca9ff0285400091299eed')),
]

# A 1x1 grey pixel of value 200 with the baseline preset, byte for byte:
# magic, version 4, flags 0, width 1 and height 1 (varints), 1 channel, 8 bits, quality
# 7500/100, spec length 5 (a varint) and the spec deflated with SPEC_DICTIONARY
# (a5 38 d7 00 00: one match of the dictionary's
# "ycbcr(subsampling=420)|dct(block=8)|jpegq(table=annexk)|huffman()"), 1 chunk (a
# varint), header CRC; chunk type 0 ("DATA") for stage 3, 8 bytes (a varint): DC table
# (max length 1, one code, symbol 7), AC table (EOB only), then bits 0 1001000 0 1111111:
# DC code, DC 72 (= 8 * (200 - 128) / step 8) in 7 bits, EOB code, 1-bit padding; chunk CRC.
ONE_PIXEL = bytes.fromhex(
    "894843580d0a1a0a0400010101081d4c05a338d70000010f471215000308010107010100487f31767410"
)


@pytest.mark.parametrize("spec, shape, quality, size, enc_hash, dec_hash", GOLDEN)
def test_golden_bitstreams(spec, shape, quality, size, enc_hash, dec_hash):
    data = hybridcodec.encode(pattern(*shape), pipeline=spec, quality=quality)
    assert len(data) == size
    assert hashlib.sha256(data).hexdigest() == enc_hash
    out = hybridcodec.decode(data)
    assert hashlib.sha256(out.tobytes()).hexdigest() == dec_hash


@pytest.mark.parametrize("spec, shape, quality, dec_hash, data", VERSION_1)
def test_version_1_files_still_decode(spec, shape, quality, dec_hash, data, monkeypatch):
    assert data[8] == 1 and hybridcodec.info(data)["version"] == 1
    assert hashlib.sha256(hybridcodec.decode(data).tobytes()).hexdigest() == dec_hash
    # the indexes of commit 773d071's encoder: without rate-distortion optimised quantization
    monkeypatch.setattr(Arith, "uses_soft", False)
    new = hybridcodec.encode(pattern(*shape), pipeline=spec, quality=quality)
    assert new[8] == 4
    assert np.array_equal(hybridcodec.decode(data, reduce=2), hybridcodec.decode(new, reduce=2))


def _old_version(data, version):
    header, chunks = read_container(data)
    header.version = version
    return write_container(header, chunks)


@pytest.mark.parametrize("spec, shape, quality, size, enc_hash, dec_hash", VERSION_3)
def test_version_3_files_still_decode(spec, shape, quality, size, enc_hash, dec_hash):
    new = hybridcodec.encode(pattern(*shape), pipeline=spec, quality=quality)
    old = _old_version(new, 3)
    assert len(old) == size and hashlib.sha256(old).hexdigest() == enc_hash
    assert hybridcodec.info(old)["version"] == 3
    assert hashlib.sha256(hybridcodec.decode(old).tobytes()).hexdigest() == dec_hash
    assert np.array_equal(hybridcodec.decode(old, reduce=2), hybridcodec.decode(new, reduce=2))
    assert read_container(old)[1] == read_container(new)[1]  # the same chunks, in the older layout


@pytest.mark.parametrize("spec, shape, quality, size, enc_hash, dec_hash", VERSION_2)
def test_version_2_files_still_decode(spec, shape, quality, size, enc_hash, dec_hash):
    new = hybridcodec.encode(pattern(*shape), pipeline=spec, quality=quality)
    arith_with_chroma = Pipeline(spec).entropy.name == "arith" and shape[2:] and shape[2] >= 3
    old = _old_version(new, 2 if arith_with_chroma else 1)  # version 2 then: the lowest that held the data
    assert len(old) == size and hashlib.sha256(old).hexdigest() == enc_hash
    assert hashlib.sha256(hybridcodec.decode(old).tobytes()).hexdigest() == dec_hash
    assert np.array_equal(hybridcodec.decode(old, reduce=2), hybridcodec.decode(new, reduce=2))


def test_the_spec_dictionary_never_changes():
    assert hashlib.sha256(SPEC_DICTIONARY).hexdigest() == (
        "f63c88addc8a217029b98c9616d66f186b285772786d8bb372a607ed91a6e5e8")


@pytest.mark.parametrize("preset", sorted(PRESETS) + ["wavelet+cnn", "lifting+cnn"])
def test_version_3_stores_a_preset_spec_in_a_few_bytes(preset):
    spec = Pipeline(preset).spec()
    packed = pack_spec(spec, 3)
    # the fixed dictionary predates the alf stage: its presets cost ~6 bytes more
    assert len(packed) <= (12 if "alf" in spec else 6) < len(spec)
    assert unpack_spec(packed, 3) == spec


@settings(max_examples=200, deadline=None)
@given(field=st.binary(max_size=64))
def test_a_damaged_compact_spec_is_a_clear_error(field):
    try:
        spec = unpack_spec(field, 3)
    except CodecError as exc:
        assert "corrupt .hcx file" in str(exc)
    else:
        assert spec.isascii() and unpack_spec(pack_spec(spec, 3), 3) == spec


def test_a_spec_that_inflates_past_the_limit_is_refused():
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = z.compress(b"a" * 70000) + z.flush()
    with pytest.raises(CodecError, match="compressed pipeline spec is damaged"):
        unpack_spec(bomb, 3)


def test_one_pixel_exact_bytes():
    assert hybridcodec.encode(np.array([[200]], np.uint8), preset="baseline", quality=75) == ONE_PIXEL
    assert hybridcodec.decode(ONE_PIXEL).tolist() == [[200]]


def test_a_file_of_the_old_default_decodes_and_the_new_default_is_wavelet():
    # ONE_PIXEL is what encode() wrote with no preset until the default became wavelet
    assert "huffman" in hybridcodec.info(ONE_PIXEL)["pipeline"]
    assert hybridcodec.decode(ONE_PIXEL).tolist() == [[200]]
    new = hybridcodec.encode(np.array([[200]], np.uint8), quality=75)
    assert hybridcodec.info(new)["pipeline"] == hybridcodec.Pipeline("wavelet").spec()
    assert abs(int(hybridcodec.decode(new)[0, 0]) - 200) < 16  # lossy
