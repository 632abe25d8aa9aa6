"""Entropy *models* of the learned stages, apart from the coders that use them (the rANS
coder is the core's, :mod:`hybridcodec.plugin`'s ``rans``):

* :mod:`.contexts` -- which cell of the ``ctxrans`` model codes each coefficient;
* :mod:`.laplace` -- the discretized Laplace tables ``ctxrans`` codes with;
* :mod:`.ctxrans_model` -- the trained ``ctxrans`` model and its ``.npz`` file;
* :mod:`.densities` -- the learned densities of the latents (torch: training, and the
  integer tables they export).

Only :mod:`.densities` needs torch.
"""
