// Golden values printed by the numpy reference in docs/shuffles.md; shuffles_reference.py
// recomputes them from that snippet and checks this file, ShuffleTests checks Swift against it.
enum ShuffleGolden {
  static let splitMix0: [UInt64] = [16294208416658607535, 7960286522194355700, 487617019471545679]
  static let splitMix1234567: [UInt64] = [6457827717110365317, 3203168211198807973, 9817491932198370423]
  static let permutation10Seed42: [Int] = [0, 9, 5, 8, 6, 4, 7, 2, 1, 3]
  static let permutation16Seed7: [Int] = [14, 6, 4, 2, 5, 11, 13, 1, 3, 12, 15, 10, 8, 0, 9, 7]
  // EntryShuffle(shape: [4, 3, 2, 2], seed: 99)
  static let gather4x3x2x2Seed99: [Int] = [26, 45, 16, 35, 38, 9, 28, 47, 42, 13, 32, 3, 10, 29, 0, 19, 2, 21, 40, 11, 6, 25, 44, 15, 18, 37, 8, 27, 22, 41, 12, 31, 14, 33, 4, 23, 30, 1, 20, 39, 34, 5, 24, 43, 46, 17, 36, 7]
  // EntryShuffle(shape: [16, 8, 3, 3], seed: 5): first 12 indices and Σ i·g[i]
  static let gather16x8x3x3Seed5Prefix: [Int] = [530, 16, 467, 167, 120, 104, 1069, 368, 1006, 21, 5, 1110]
  static let gather16x8x3x3Seed5Checksum: Int = 381993022
}
