"""Wavelet transforms: JPEG 2000-style lifting (non-expansive) and the subband layout."""
