"""Sharing a generator: a self-contained folder (`fashiongan package`) in Hugging Face's layout
(config.json + model.safetensors, a README.md model card, optionally generator.onnx) that
fashiongan, huggingface_hub's PyTorchModelHubMixin and onnxruntime each read.

package.py writes the folder, card.py its model card from the run's recorded figures
(records.py), hub.py the module class the hub's from_pretrained builds, onnx_export.py the ONNX
graph and its check against PyTorch. onnx, onnxruntime and huggingface_hub are optional (the
`share` extra): they are imported inside the functions that need them.
"""
