"""`vibevoice-asr-web quantize`: fp32 artifact folder -> fp16 / q4 / q4f16 artifact folder."""

from __future__ import annotations

import argparse

from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.progress import Progress


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "variants (DESIGN §3):\n"
        "  fp16    fp16 weights and activations; RMSNorm statistics, softmax and rotary angles in fp32\n"
        "  q4      MatMul weights int4 (MatMulNBits, symmetric), embedding GatherBlockQuantized; fp32 activations\n"
        "  q4f16   as q4 with fp16 activations and fp16 scales\n"
        "  q2      as q4, but a BitNet decoder's ternary q/k/v/o/gate/up/down as exact 2-bit MatMulNBits\n"
        "  q2f16   as q2 with fp16 activations and fp16 scales\n"
        "aliases: float16 = fp16, int4 = q4. Several at once: --dtype q4,q4f16 (one folder).\n\n"
        "Weights are read in slabs of --slab-mb and streamed to the output: memory does not grow with\n"
        "the model. The int4 bytes come from onnxruntime's own kernel, identical to MatMulNBitsQuantizer.\n"
        "The folder appears only when complete; its manifest records every file's sha256 and the parity\n"
        "of each variant against the fp32 input (gates: fp16 cosine, q4/q4f16/q2/q2f16 top-1 agreement)."
    )
    parser.add_argument("--input-dir", "--input_dir", required=True, help="fp32 artifact folder made by `export`")
    parser.add_argument("--output-dir", "--output_dir", required=True, help="folder to write (a complete artifact folder)")
    parser.add_argument(
        "--dtype", required=True, action="append",
        help="fp16, q4 (alias int4), q4f16, q2 or q2f16 (q2/q2f16: ternary decoders only); several separated by commas or repeated (e.g. q4,q4f16)",
    )
    parser.add_argument("--block-size", type=int, default=contract.INT4_BLOCK_SIZE, choices=(16, 32, 64, 128, 256), metavar="N", help="int4 block size along K: 16, 32, 64, 128 or 256 (default %(default)s)")
    parser.add_argument(
        "--accuracy-level", type=int, choices=range(0, 5), default=None, metavar="0-4",
        help="MatMulNBits accuracy_level (0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8 activations); default: not set",
    )
    parser.add_argument("--slab-mb", type=int, default=64, help="most MB of a tensor read at a time (default 64)")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    parser.add_argument("--no-validate", dest="validate", action="store_false", help="skip the comparison with fp32")
    parser.add_argument("--audio", action="append", help="audio file for the greedy-decode comparison (repeatable)")
    from vibevoice_asr_web.parity.variant_vs_fp32 import VariantGates

    gates = VariantGates()
    parser.add_argument(
        "--min-fp16-cosine", type=float, default=gates.min_fp16_cosine,
        help=f"fp16 gate: cosine vs fp32 on every graph (default {gates.min_fp16_cosine})",
    )
    parser.add_argument(
        "--min-top1", type=float, default=gates.min_top1,
        help=f"q4/q4f16 gate: teacher-forced top-1 agreement with fp32's greedy tokens (default {gates.min_top1})",
    )
    from vibevoice_asr_web.artifact.manifest import add_no_verify_argument

    add_no_verify_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="print errors only")


def run(args: argparse.Namespace) -> int:
    from vibevoice_asr_web.errors import UserError
    from vibevoice_asr_web.parity.variant_vs_fp32 import VariantGates
    from vibevoice_asr_web.quantize.folder import quantize_folder
    from vibevoice_asr_web.quantize.graph import QuantizeOptions

    if args.slab_mb < 1:
        raise UserError(f"--slab-mb {args.slab_mb}: expected at least 1")
    options = QuantizeOptions(block_size=args.block_size, accuracy_level=args.accuracy_level or None, slab_bytes=args.slab_mb << 20)
    quantize_folder(
        args.input_dir, args.output_dir, args.dtype, options=options, overwrite=args.overwrite, validate=args.validate,
        audio=args.audio, thresholds=VariantGates(args.min_fp16_cosine, args.min_top1), progress=Progress(quiet=args.quiet),
        verify=args.verify,
    )
    return 0
