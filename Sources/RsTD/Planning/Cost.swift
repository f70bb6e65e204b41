/// What a layer costs: stored weight parameters and multiply-adds per output position.
public struct Cost: Equatable, Sendable, Codable {
  public var params: Int
  public var multiplyAdds: Int

  public init(params: Int, multiplyAdds: Int) {
    self.params = params
    self.multiplyAdds = multiplyAdds
  }
}
