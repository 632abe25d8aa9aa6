"""``hybridcodec train``: the learned stages' training commands, added to the core CLI
through the entry-point group ``hybridcodec.commands`` (torch is imported only when a
command runs)."""

from __future__ import annotations

__all__ = ["register"]


def register(sub) -> None:
    """Add the ``train`` command to the core CLI's subparsers."""
    p = sub.add_parser("train", help="train a learned stage on CPU (from hybridcodec-learned)")
    tsub = p.add_subparsers(dest="what", required=True)
    t = tsub.add_parser("postfilter", help="the CNN post-filter of a transform family")
    t.add_argument("--data", required=True, help="folder of training photos")
    t.add_argument("--preset", required=True,
                   help="compress training crops with this preset (its family's weights are written; any preset "
                        "whose transform family has post-filter weights: baseline, dct-arith, wavelet, learned, "
                        "lifting, and those plugins register)")
    t.add_argument("--steps", type=int, default=6000, help="optimizer steps (default 6000)")
    t.add_argument("--hours", type=float, help="stop after this much training time")
    t.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    t.add_argument("--out", help="weights file (default: trained-weights/postfilter-FAMILY.pt here)")
    t.add_argument("--force", action="store_true", help="replace an existing --out file")
    t.add_argument("--replace-shipped", action="store_true",
                   help="allow --out in the plugin's shipped weights folder (old files then fail to decode)")
    t.add_argument("--init", help="start from this weights file (e.g. another family's) instead of random weights")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--channels", type=int, default=48, help="network width (default 48)")
    t.add_argument("--layers", type=int, default=8, help="convolution layers (default 8)")
    t.add_argument("--lr", type=float, default=5e-4, help="peak learning rate (default 5e-4)")
    t.add_argument("--threads", type=int, help="torch threads (a run repeats bit for bit at a fixed count)")
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(func=_train_postfilter)
    t = tsub.add_parser("transform", help="a learned transform with its entropy model (--model learned, dcnn, "
                        "lifting, lifting-joint, or one a plugin registers)")
    t.add_argument("--model", required=True,
                   help="which stage's weights to train (lifting-joint: the lifting steps and the ctxrans model "
                        "together; writes ctxrans-STEM.npz beside the weights)")
    t.add_argument("--data", required=True, help="folder of training photos (never the test set)")
    t.add_argument("--steps", type=int, default=12000, help="optimizer steps; the learning rate decays over them")
    t.add_argument("--hours", type=float, help="stop after this much training time")
    t.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    t.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    t.add_argument("--out", help="weights file (default: trained-weights/MODEL.pt here)")
    t.add_argument("--force", action="store_true", help="replace an existing --out file")
    t.add_argument("--replace-shipped", action="store_true",
                   help="allow --out in the plugin's shipped weights folder (old files then fail to decode)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, help="torch threads (a run repeats bit for bit at a fixed count)")
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(func=_train_transform)
    t = tsub.add_parser("entropy", help="the ctxrans context model (counts and fits; numpy only, minutes)")
    t.add_argument("--data", required=True, help="folder of training photos (never the test set)")
    t.add_argument("--transform", default="dwt",
                   help="the transform stage whose quantized coefficients to fit on (default dwt: plain CDF 9/7)")
    t.add_argument("--out", help="model file (default: trained-weights/ctxrans.npz here)")
    t.add_argument("--limit", type=int, help="use only the first N photos (sorted by path)")
    t.add_argument("--force", action="store_true", help="replace an existing --out file")
    t.add_argument("--replace-shipped", action="store_true",
                   help="allow --out in the plugin's shipped weights folder (old files then fail to decode)")
    t.set_defaults(func=_train_entropy)


def _train_postfilter(args) -> int:
    from hybridcodec import CodecError

    try:
        from .training.postfilter import train_postfilter
    except ImportError as exc:
        raise CodecError(f"training needs torch ({exc}); install torch's CPU build: pip install torch==2.13.0") from None

    train_postfilter(args.data, args.preset, steps=args.steps, hours=args.hours, resume=args.resume,
                     out=args.out, seed=args.seed, channels=args.channels, layers=args.layers, lr=args.lr,
                     threads=args.threads, progress=not args.quiet, force=args.force,
                     replace_shipped=args.replace_shipped, init=args.init)
    return 0


def _train_transform(args) -> int:
    from hybridcodec import CodecError

    try:
        from .training.transform import train_transform
    except ImportError as exc:
        raise CodecError(f"training needs torch ({exc}); install torch's CPU build: pip install torch==2.13.0") from None

    train_transform(args.model, args.data, steps=args.steps, hours=args.hours, resume=args.resume, out=args.out,
                    seed=args.seed, threads=args.threads, device=args.device, progress=not args.quiet,
                    force=args.force, replace_shipped=args.replace_shipped)
    return 0


def _train_entropy(args) -> int:
    from .training.entropy import train_entropy

    train_entropy(args.data, args.transform, out=args.out, force=args.force, replace_shipped=args.replace_shipped,
                  limit=args.limit)
    return 0
