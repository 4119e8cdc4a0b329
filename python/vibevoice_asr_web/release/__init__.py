"""Releases: build an artifact folder, prove it, describe it, publish it to the Hugging Face Hub.

  build.py    the fp32 export and the quantized variants, in a work folder (or reused folders)
  stage.py    the release folder: exactly the files that will be committed, and its manifest
  gates.py    the checks a release must pass (sha256, contract, buffer and chunk sizes), the table
  parity_gate.py  the parity gate: `validate` against PyTorch (fp32) and against fp32 (the others)
  browser.py  the browser gate: //e2e:webgpu and //e2e:webgpu_f16 on the release folder, read back from their JUnit XML
  card.py     the model card (README.md): source, license, variants, metrics, usage
  hub.py      the upload: one commit through huggingface_hub, the token kept out of every output
  state.py    the work folder's state file, so an interrupted release resumes where it stopped
  command.py  `vibevoice-asr-web publish` and `bazel run //tools/release:publish`
"""
