/// Shell-style name matching: `*` any run, `?` one character; everything else literal.
struct Glob {
  let pattern: [Character]

  init(_ pattern: String) { self.pattern = Array(pattern) }

  func matches(_ name: String) -> Bool {
    let s = Array(name)
    var p = 0, i = 0, star = -1, mark = 0
    while i < s.count {
      if p < pattern.count && (pattern[p] == "?" || pattern[p] == s[i]) {
        p += 1; i += 1
      } else if p < pattern.count && pattern[p] == "*" {
        star = p; mark = i; p += 1
      } else if star >= 0 {
        p = star + 1; mark += 1; i = mark
      } else {
        return false
      }
    }
    while p < pattern.count && pattern[p] == "*" { p += 1 }
    return p == pattern.count
  }
}
