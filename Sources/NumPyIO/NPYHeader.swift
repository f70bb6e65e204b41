/// The header of a .npy file: a Python dict literal such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`, padded with spaces and a newline.
///
/// Parsed by a small grammar, not evaluated: keys are quoted strings; values are a quoted string,
/// `True`/`False`, or a tuple of non-negative integers (Python 2 files may suffix them with `L`).
/// Exactly the three keys numpy writes are accepted.
struct NPYHeader: Equatable {
  var descr: String
  var fortranOrder: Bool
  var shape: [Int]

  /// numpy's limit on the number of axes (NPY_MAXDIMS in numpy 2).
  static let maxAxes = 64

  /// Parses `text`.
  /// - Throws: `NumPyIOError.malformedNPY` naming what is wrong.
  static func parse(_ text: String, source: String) throws -> NPYHeader {
    var p = Parser(chars: Array(text.unicodeScalars), source: source)
    var descr: String?
    var fortran: Bool?
    var shape: [Int]?
    try p.expect("{")
    while true {
      p.skipSpace()
      if p.take("}") { break }
      let key = try p.string()
      try p.expect(":")
      switch key {
      case "descr":
        guard descr == nil else { throw p.fail("key 'descr' appears twice") }
        p.skipSpace()
        guard p.peek == "'" || p.peek == "\"" else { throw p.fail("'descr' is not a string (structured dtypes are not supported)") }
        descr = try p.string()
      case "fortran_order":
        guard fortran == nil else { throw p.fail("key 'fortran_order' appears twice") }
        fortran = try p.boolean()
      case "shape":
        guard shape == nil else { throw p.fail("key 'shape' appears twice") }
        shape = try p.tuple()
      default:
        throw p.fail("unexpected key '\(key)'")
      }
      p.skipSpace()
      if p.take(",") { continue }
      try p.expect("}")
      break
    }
    p.skipSpace()
    guard p.atEnd else { throw p.fail("text after the header dict") }
    guard let descr else { throw p.fail("no 'descr'") }
    guard let fortran else { throw p.fail("no 'fortran_order'") }
    guard let shape else { throw p.fail("no 'shape'") }
    return NPYHeader(descr: descr, fortranOrder: fortran, shape: shape)
  }

  /// The header text numpy's `format.write_array_header_1_0` writes, padded so that the data
  /// starts at a multiple of 64 bytes (magic 6 + version 2 + length 2 + text).
  var text: String {
    let dims = shape.map(String.init)
    let tuple = "(" + dims.joined(separator: ", ") + (dims.count == 1 ? ",)" : ")")
    var text = "{'descr': '\(descr)', 'fortran_order': \(fortranOrder ? "True" : "False"), 'shape': \(tuple), }"
    let unpadded = 10 + text.utf8.count + 1
    text += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
    return text
  }

  private struct Parser {
    let chars: [Unicode.Scalar]
    let source: String
    var i = 0

    var atEnd: Bool { i >= chars.count }
    var peek: Unicode.Scalar? { atEnd ? nil : chars[i] }

    func fail(_ detail: String) -> NumPyIOError { .malformedNPY(source: source, detail: "header: \(detail)") }

    mutating func skipSpace() {
      while let c = peek, c == " " || c == "\n" || c == "\t" || c == "\r" { i += 1 }
    }

    mutating func take(_ c: Unicode.Scalar) -> Bool {
      if peek == c { i += 1; return true }
      return false
    }

    mutating func expect(_ c: Unicode.Scalar) throws {
      skipSpace()
      guard take(c) else { throw fail("expected '\(c)' at character \(i)") }
    }

    mutating func string() throws -> String {
      skipSpace()
      guard let quote = peek, quote == "'" || quote == "\"" else { throw fail("expected a quoted string at character \(i)") }
      i += 1
      var s = String.UnicodeScalarView()
      while let c = peek, c != quote {
        if c == "\\" { throw fail("escapes in strings are not supported") }
        s.append(c)
        i += 1
      }
      guard take(quote) else { throw fail("unterminated string") }
      return String(s)
    }

    mutating func boolean() throws -> Bool {
      skipSpace()
      for (word, value) in [("True", true), ("False", false)] {
        let scalars = Array(word.unicodeScalars)
        if i + scalars.count <= chars.count && Array(chars[i..<(i + scalars.count)]) == scalars {
          i += scalars.count
          return value
        }
      }
      throw fail("'fortran_order' is not True or False")
    }

    mutating func tuple() throws -> [Int] {
      try expect("(")
      var dims: [Int] = []
      while true {
        skipSpace()
        if take(")") { return dims }
        var digits = ""
        while let c = peek, ("0"..."9").contains(c) { digits.unicodeScalars.append(c); i += 1 }
        guard !digits.isEmpty else { throw fail("'shape' holds something other than non-negative integers") }
        _ = take("L")
        guard digits.count <= 18, let d = Int(digits) else { throw fail("dimension \(digits) is too large") }
        dims.append(d)
        guard dims.count <= NPYHeader.maxAxes else { throw fail("more than \(NPYHeader.maxAxes) axes") }
        skipSpace()
        if take(",") { continue }
        try expect(")")
        return dims
      }
    }
  }
}
