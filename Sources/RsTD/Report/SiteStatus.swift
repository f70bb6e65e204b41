/// What happened to a site; its raw value is what the report's JSON says.
public enum SiteStatus: String, Codable, Sendable, Equatable {
  case rewritten
  case kept
}
