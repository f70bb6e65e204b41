/// Folds chains of elementwise nodes into the Conv they follow, as the Conv's `Epilogue`:
/// BatchNormalization, Relu, Clip, arithmetic with a one-value constant, and the Add → Clip →
/// Mul head of a decomposed HardSwish. In CNNs these are most nodes after each Conv (ResNet:
/// Conv → BatchNormalization → Relu; PP-OCR det: Conv → Mul → Add → HardSwish → Mul → Add),
/// and each would otherwise read and write the whole activation once more.
///
/// A value is folded only when its every reader is in the chain and it is not a graph output;
/// the values folded away are returned so that a run observing one of them uses the unfused steps.
enum ConvFusion {
  static func fuse(_ steps: [ExecutionStep], constants: [Int: TensorValue], keep: Set<Int>) -> (steps: [ExecutionStep], hidden: Set<Int>) {
    let readers = SlotReaders(steps)
    func constant(_ slot: Int?) -> [Float]? { slot.flatMap { constants[$0]?.floats } }
    func scalar(_ slot: Int?, rank: Int) -> Float? {
      guard let s = slot, let c = constants[s], let v = c.floats, v.count == 1, c.shape.count <= rank else { return nil }
      return v[0]
    }
    func onlyOutput(_ step: ExecutionStep) -> Int? { step.outputs.count == 1 ? step.outputs[0] : nil }

    var absorbed = Set<Int>(), hidden = Set<Int>(), fused: [ExecutionStep] = []
    for (i, step) in steps.enumerated() where !absorbed.contains(i) {
      guard step.opType == "Conv", var conv = step.op as? Conv, step.inputs.count >= 2,
        let w = step.inputs[1].flatMap({ constants[$0] }), w.shape.count >= 3, var value = onlyOutput(step)
      else {
        fused.append(step)
        continue
      }
      let rank = w.shape.count, channels = w.shape[0]
      var stages: [Epilogue.Stage] = []
      // Extends the chain by one stage while the value's readers form a known pattern.
      func next() -> (Epilogue.Stage, [Int], Int)? {
        guard !keep.contains(value), let r = readers[value] else { return nil }
        if r.count == 1 {
          let j = r[0], n = steps[j]
          guard let out = onlyOutput(n) else { return nil }
          switch n.opType {
          case "Add", "Sub", "Mul", "Div":
            guard let b = n.op as? Binary, b.legacyBroadcastAxis == nil, n.inputs.count == 2 else { return nil }
            let constantFirst = n.inputs[1] == value
            guard n.inputs[constantFirst ? 1 : 0] == value, let c = scalar(n.inputs[constantFirst ? 0 : 1], rank: rank) else { return nil }
            let op: FloatArithmetic.Operation = switch n.opType { case "Add": .add case "Sub": .sub case "Mul": .mul default: .div }
            return (.arithmetic(op, c, constantFirst: constantFirst), [j], out)
          case "Relu":
            guard (n.op as? Unary)?.isRelu == true else { return nil }
            return (.relu, [j], out)
          case "Clip":
            guard let clip = n.op as? Clip, let bounds = clipBounds(clip, n, rank: rank) else { return nil }
            return (.clip(bounds.0, bounds.1), [j], out)
          case "BatchNormalization":
            guard let bn = n.op as? BatchNormalization, n.inputs.count == 5 else { return nil }
            let p = n.inputs[1...].map(constant)
            guard p.allSatisfy({ $0?.count == channels }) else { return nil }
            let (k, shift) = bn.folded(scale: p[0]!, bias: p[1]!, mean: p[2]!, variance: p[3]!)
            return (.affine(k: k, shift: shift), [j], out)
          default: return nil
          }
        }
        // x · clip(x + c): Add(x, c) → Clip → Mul(x, clipped), x read by the Add and the Mul.
        guard r.count == 2 else { return nil }
        let (a, m) = (steps[r[0]], steps[r[1]])
        guard a.opType == "Add", m.opType == "Mul", (a.op as? Binary)?.legacyBroadcastAxis == nil,
          (m.op as? Binary)?.legacyBroadcastAxis == nil, a.inputs.count == 2, m.inputs.count == 2,
          let added = onlyOutput(a), !keep.contains(added), let ar = readers[added], ar.count == 1,
          steps[ar[0]].opType == "Clip", let clip = steps[ar[0]].op as? Clip, let clipped = onlyOutput(steps[ar[0]]),
          !keep.contains(clipped), readers[clipped] == [r[1]], let out = onlyOutput(m),
          Set(m.inputs.compactMap { $0 }) == [value, clipped]
        else { return nil }
        let constantFirst = a.inputs[1] == value
        guard a.inputs[constantFirst ? 1 : 0] == value, let c = scalar(a.inputs[constantFirst ? 0 : 1], rank: rank),
          let bounds = clipBounds(clip, steps[ar[0]], rank: rank)
        else { return nil }
        hidden.formUnion([added, clipped])
        return (.timesClippedShift(c, bounds.0, bounds.1), [r[0], ar[0], r[1]], out)
      }
      func clipBounds(_ clip: Clip, _ n: ExecutionStep, rank: Int) -> (Float, Float)? {
        func bound(_ attribute: Float?, _ index: Int, _ none: Float) -> Float? {
          if let attribute { return attribute }
          guard index < n.inputs.count, let s = n.inputs[index] else { return none }
          return scalar(s, rank: rank)
        }
        guard n.inputs.count <= 3, let lo = bound(clip.minAttribute, 1, -.infinity), let hi = bound(clip.maxAttribute, 2, .infinity)
        else { return nil }
        return (lo, hi)
      }
      while let (stage, taken, out) = next() {
        stages.append(stage)
        absorbed.formUnion(taken)
        hidden.insert(value)
        value = out
      }
      if !stages.isEmpty { conv.epilogue = Epilogue(stages: stages) }
      fused.append(ExecutionStep(
        nodeName: step.nodeName, position: step.position, opType: step.opType, op: conv, inputs: step.inputs, outputs: [value], frees: []))
    }
    return (fused, hidden)
  }
}

/// The steps reading each slot, in step order (a step reading a slot twice is listed twice).
/// Two flat arrays rather than one array per slot: a rewritten model compiles ~10⁵ slots, and
/// this table is alive at the compile's peak.
private struct SlotReaders {
  private var start: [Int]  // slot s's readers are flat[start[s]..<start[s + 1]]
  private var flat: [Int]

  init(_ steps: [ExecutionStep]) {
    var slots = 0
    for step in steps { for case let s? in step.inputs { slots = max(slots, s + 1) } }
    start = [Int](repeating: 0, count: slots + 1)
    for step in steps { for case let s? in step.inputs { start[s + 1] += 1 } }
    for s in 0..<slots { start[s + 1] += start[s] }
    flat = [Int](repeating: 0, count: start[slots])
    var next = start
    for (i, step) in steps.enumerated() {
      for case let s? in step.inputs {
        flat[next[s]] = i
        next[s] += 1
      }
    }
  }

  /// The readers of `slot`, nil when no step reads it.
  subscript(_ slot: Int) -> [Int]? {
    guard slot + 1 < start.count, start[slot] < start[slot + 1] else { return nil }
    return Array(flat[start[slot]..<start[slot + 1]])
  }
}
