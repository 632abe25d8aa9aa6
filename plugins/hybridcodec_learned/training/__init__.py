"""The trainers behind ``hybridcodec train`` (``postfilter``, ``transform``, ``entropy``),
their one loop (:mod:`.loop`) and what they share (:mod:`.common`).  Inference never
imports this package."""
