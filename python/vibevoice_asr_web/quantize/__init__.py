"""The streaming quantizer: fp32 artifact folder -> fp16 / q4 / q4f16 variants (DESIGN §3).

Shaped like a reader -> per-tensor transform -> writer pipeline; nothing holds a whole model or a
whole large tensor:

  ../onnx_io.py  (shared with export) the graph without its weights; the data chunk writer
  ../tensor_reader.py (shared with export) each weight from its data chunk, or a checkpoint, in slabs
  transforms.py  what one output initializer holds (copy, fp16 cast, int4 MatMul / Gather packing, ternary MatMul)
  int4.py        onnxruntime's own int4 block packing kernel on one [K, W] tile
  ternary.py     ternary (BitNet) weights as exact 2-bit MatMulNBits codes, for the planned q2 / q2f16
  initializers.py which transform each initializer of the output graph comes from
  fp16.py        graph rewrite: float16 everywhere, fp32 islands where fp16 overflows or rounds
  nbits.py       graph rewrite: MatMul -> MatMulNBits, Gather -> GatherBlockQuantized
  graph.py       one .onnx graph: load, rewrite, write, check
  folder.py      one artifact folder: every graph of every variant, metadata, parity, manifest
  command.py     `vibevoice-asr-web quantize`
"""
