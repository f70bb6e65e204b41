import ONNX
print("bench-io: not yet implemented")
