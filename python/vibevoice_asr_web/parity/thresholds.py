"""The parity gates, in one place: `export`, `validate`, `quantize` and `publish` all read them here."""

FP32_MIN_COSINE = 0.99999  # fp32 graphs vs PyTorch, every graph and case (greedy tokens must also be equal)
CHUNKED_MAX_ABS = 1e-5  # chunked audio encoding with carried caches vs one pass
FP16_MIN_COSINE = 0.999  # fp16 vs fp32: every graph, every case
MIN_TOP1 = 0.95  # q4, q4f16: teacher-forced next-token agreement with fp32's greedy tokens
