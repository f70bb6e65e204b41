import RsTD
print("onnx-rstd: not yet implemented")
