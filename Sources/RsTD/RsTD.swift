import ONNX
import TensorAlgebra
public enum RsTDModule {}
