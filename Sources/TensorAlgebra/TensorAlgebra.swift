// Placeholder until the TensorAlgebra module lands.
public enum TensorAlgebraModule {}
