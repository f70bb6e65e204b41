import TensorAlgebra
print("bench-decompose: not yet implemented")
