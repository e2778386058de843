Gem::Specification.new do |spec|
  spec.name = "edge_session_origin"
  spec.version = "0.1.0"
  spec.summary = "Origin side of edge-session: verify the edge's signed identity, log users in and out, list and revoke sessions. Rack middleware."
  spec.license = "Apache-2.0"
  spec.authors = ["edge-session"]
  spec.files = Dir["lib/**/*.rb", "README.md"]
  spec.required_ruby_version = ">= 3.0"
  spec.add_dependency "jwt", ">= 2.5", "< 4"
  spec.add_dependency "rack", ">= 2.2", "< 4"
end
