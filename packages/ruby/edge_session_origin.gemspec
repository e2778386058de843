Gem::Specification.new do |spec|
  spec.name = "edge_session_origin"
  spec.version = "0.1.0"
  spec.summary = "Origin side of edge-session: verify the edge's signed identity, log users in and out, list and revoke sessions. Rack middleware."
  spec.description = "The origin side of edge-session, the Cloudflare Worker that rotates session " \
                     "credentials at the edge: verifies the edge's signed X-Edge-Assertion with the " \
                     "edge's own rules (HS256, or ES256 with the edge's public JWKS), answers login " \
                     "and logout with X-Edge-Login / X-Edge-Logout, " \
                     "lists and revokes a user's sessions through the edge's admin API, and bridges " \
                     "an app's own sessions. Rack middleware; ruby-jwt for the JWTs."
  spec.license = "Apache-2.0"
  spec.authors = ["edge-session"]
  spec.homepage = "https://github.com/OWNER/edge-session/tree/main/packages/ruby"
  spec.metadata = {
    "homepage_uri" => spec.homepage,
    "source_code_uri" => "https://github.com/OWNER/edge-session",
    "bug_tracker_uri" => "https://github.com/OWNER/edge-session/issues",
    "changelog_uri" => "https://github.com/OWNER/edge-session/blob/main/packages/ruby/CHANGELOG.md",
    "rubygems_mfa_required" => "true"
  }
  # The library, its README, LICENSE and CHANGELOG: no tests (they need the repository's
  # conformance table, packages/conformance/vectors.json).
  spec.files = Dir.glob("lib/**/*.rb", base: __dir__).sort + %w[README.md LICENSE CHANGELOG.md]
  spec.require_paths = ["lib"]
  spec.required_ruby_version = ">= 3.0"
  spec.add_dependency "jwt", ">= 2.5", "< 4"
  spec.add_dependency "rack", ">= 2.2", "< 4"
end
