package import ONNXProto

extension Onnx_ModelProto {
  /// Calls `body` on every dense tensor the model stores, in a fixed order, letting it change
  /// them in place.
  ///
  /// Visits, depth first: the main graph's initializers, its sparse initializers (values, then
  /// indices), then each node's attribute tensors (`t`, `tensors`, `sparse_tensor(s)`) and
  /// subgraphs (`g`, `graphs`, recursively, in the same order); then each training-info
  /// `initialization` and `algorithm` graph; then the nodes and attribute defaults of each
  /// function. Value-info, types and everything else are untouched.
  /// - Parameter body: called once per tensor; may mutate it.
  /// - Complexity: O(nodes + attributes + tensors), plus whatever `body` costs.
  package mutating func forEachTensor(_ body: (inout Onnx_TensorProto) throws -> Void) rethrows {
    if hasGraph {
      var graph = self.graph
      clearGraph()  // keep `graph` uniquely referenced while it is edited
      try graph.forEachTensor(body)
      self.graph = graph
    }
    if !trainingInfo.isEmpty {
      var infos = trainingInfo
      trainingInfo = []
      for i in infos.indices {
        if infos[i].hasInitialization { try infos[i].initialization.forEachTensor(body) }
        if infos[i].hasAlgorithm { try infos[i].algorithm.forEachTensor(body) }
      }
      trainingInfo = infos
    }
    if !functions.isEmpty {
      var functions = self.functions
      self.functions = []
      for i in functions.indices {
        try Onnx_GraphProto.forEachTensor(in: &functions[i].node, body)
        for j in functions[i].attributeProto.indices { try functions[i].attributeProto[j].forEachTensor(body) }
      }
      self.functions = functions
    }
  }
}

extension Onnx_GraphProto {
  /// Calls `body` on every dense tensor of this graph and its subgraphs; see
  /// `Onnx_ModelProto.forEachTensor(_:)` for the order.
  package mutating func forEachTensor(_ body: (inout Onnx_TensorProto) throws -> Void) rethrows {
    if !initializer.isEmpty {
      var tensors = initializer
      initializer = []
      for i in tensors.indices { try body(&tensors[i]) }
      initializer = tensors
    }
    if !sparseInitializer.isEmpty {
      var sparse = sparseInitializer
      sparseInitializer = []
      for i in sparse.indices { try sparse[i].forEachTensor(body) }
      sparseInitializer = sparse
    }
    try Self.forEachTensor(in: &node, body)
  }

  static func forEachTensor(in nodes: inout [Onnx_NodeProto], _ body: (inout Onnx_TensorProto) throws -> Void) rethrows {
    for i in nodes.indices where !nodes[i].attribute.isEmpty {
      for j in nodes[i].attribute.indices { try nodes[i].attribute[j].forEachTensor(body) }
    }
  }
}

extension Onnx_AttributeProto {
  /// Calls `body` on this attribute's tensors and on those of its subgraphs.
  mutating func forEachTensor(_ body: (inout Onnx_TensorProto) throws -> Void) rethrows {
    if hasT { try body(&t) }
    if !tensors.isEmpty {
      var list = tensors
      for i in list.indices { try body(&list[i]) }
      tensors = list
    }
    if hasSparseTensor { try sparseTensor.forEachTensor(body) }
    if !sparseTensors.isEmpty {
      var sparse = sparseTensors
      for i in sparse.indices { try sparse[i].forEachTensor(body) }
      sparseTensors = sparse
    }
    if hasG { try g.forEachTensor(body) }
    if !graphs.isEmpty {
      var subgraphs = graphs
      for i in subgraphs.indices { try subgraphs[i].forEachTensor(body) }
      graphs = subgraphs
    }
  }
}

extension Onnx_SparseTensorProto {
  /// Calls `body` on the values tensor, then the indices tensor.
  mutating func forEachTensor(_ body: (inout Onnx_TensorProto) throws -> Void) rethrows {
    if hasValues { try body(&values) }
    if hasIndices { try body(&indices) }
  }
}
