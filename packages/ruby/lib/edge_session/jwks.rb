# frozen_string_literal: true

require "ipaddr"
require "json"
require "net/http"
require "openssl"
require "timeout"
require "uri"

module EdgeSession
  # The edge's public ES256 keys (ASSERTION_ALG=ES256): given as EDGE_JWKS (the JWKS text,
  # parsed at startup) or fetched from EDGE_JWKS_URL (the edge's GET /__edge/jwks.json) on
  # the first ES256 assertion. A service that holds only these keys can verify who a
  # request is and can mint nothing.
  #
  # Thread-safe (puma runs requests on several threads): the key set is swapped under a
  # Mutex, and fetches are serialized by another, so requests that need the same fetch
  # share it instead of each making one.
  class Jwks
    CACHE_SECONDS = 300 # the edge serves it with max-age=300
    # Between two fetches, whatever asks: tokens with random kids cannot make us fetch on
    # every request (nor make the edge serve its JWKS to every request we get).
    COOLDOWN_SECONDS = 30
    # Keys kept through failed fetches verify for at most this long after the last fetch
    # that succeeded: a key the edge stopped publishing (perhaps because it leaked) must
    # not verify forged assertions forever while the URL is down.
    MAX_KEY_AGE = 24 * 3600
    FETCH_TIMEOUT = 5 # seconds for the whole fetch: connect, TLS, headers and body
    MAX_BODY = 64 * 1024 # the edge's JWKS is a few hundred bytes
    # The order of P-256's group: r and s of a signature are in [1, N - 1].
    P256_ORDER = OpenSSL::PKey::EC::Group.new("prime256v1").order.to_i
    URL_RULE = "EDGE_JWKS_URL (jwks_url:) must be https://…, or http:// to a loopback host (localhost, " \
               "127.0.0.0/8, [::1]): a JWKS read in clear text is a key anyone on the path chooses"

    # A usable public key: its kid (nil when the JWK has none) and the OpenSSL key.
    Key = Struct.new(:kid, :pkey)
    # Why a fetch failed; the message is the reason logged (never the response's body).
    class Unavailable < StandardError; end
    # A 404: the edge publishes no JWKS (it signs HS256 again). An answer, not a failure.
    class NotPublished < Unavailable; end

    # EDGE_JWKS and EDGE_JWKS_URL (each nil or "" when unset) → a Jwks, or nil when neither
    # is set. ArgumentError for anything the README calls a configuration error.
    def self.configure(jwks:, url:, log:)
      given_jwks = !(jwks.nil? || jwks == "")
      given_url = !(url.nil? || url == "")
      raise ArgumentError, "EDGE_JWKS (jwks:) and EDGE_JWKS_URL (jwks_url:) are both set: give one" if given_jwks && given_url
      return new(keys: static_keys(jwks)) if given_jwks
      return new(uri: endpoint(url), log: log) if given_url

      nil
    end

    # EDGE_JWKS: the JSON text, or the JWKS already parsed (a Hash, string or symbol keys).
    # A refusal never quotes the text: it may hold a private key.
    def self.static_keys(jwks)
      value = jwks.is_a?(String) ? parse_json(jwks) : parse_json(JSON.generate(jwks))
      raise ArgumentError, "EDGE_JWKS (jwks:) is not JSON" if value == :not_json

      keys = value["keys"] if value.is_a?(Hash)
      raise ArgumentError, 'EDGE_JWKS (jwks:) is not a JWKS, {"keys": [...]}' unless keys.is_a?(Array)

      # A private key in the configuration is a leak waiting to happen (and a sign that the
      # wrong JSON was pasted): refused, not skipped.
      secret_at = keys.index { |jwk| jwk.is_a?(Hash) && jwk.key?("d") }
      if secret_at
        raise ArgumentError, "EDGE_JWKS (jwks:) key ##{secret_at + 1} has a private part (d): give the public JWKS, " \
                             "as GET /__edge/jwks.json serves it"
      end

      usable = keys.filter_map { |jwk| public_key(jwk) }
      raise ArgumentError, "EDGE_JWKS (jwks:) has no usable key (kty EC, crv P-256, alg ES256, use sig)" if usable.empty?

      usable
    end

    # Not raised from a rescue: JSON::ParserError quotes the text, and would be the cause.
    def self.parse_json(text)
      JSON.parse(text)
    rescue JSON::ParserError
      :not_json
    end

    # EDGE_JWKS_URL, checked at startup. A refusal names the rule, never the value.
    def self.endpoint(url)
      uri = (URI.parse(url) rescue nil) if url.is_a?(String) && !url.match?(/[[:space:]]|[[:cntrl:]]/)
      raise ArgumentError, URL_RULE unless uri.is_a?(URI::HTTP) && uri.host && !uri.host.empty?
      raise ArgumentError, URL_RULE unless uri.scheme.casecmp?("https") || loopback?(uri.hostname)

      uri
    end

    # localhost, 127.0.0.0/8 or ::1: a JWKS that never leaves this machine.
    def self.loopback?(host)
      return true if host.casecmp?("localhost")

      ip = IPAddr.new(host) rescue nil
      return false if ip.nil?

      ip.ipv4? ? IPAddr.new("127.0.0.0/8").include?(ip) : ip == IPAddr.new("::1")
    end

    # A JWK → Key, or nil if it is not a key that verifies ES256 (skipped, not an error:
    # a JWKS may hold keys for other uses). The rule is the README's: kty EC, crv P-256,
    # x and y 32 bytes of canonical base64url making a point on the curve, use absent or
    # sig, alg absent or ES256, no private part.
    def self.public_key(jwk)
      return unless jwk.is_a?(Hash) && jwk["kty"] == "EC" && jwk["crv"] == "P-256" && !jwk.key?("d")
      return unless [nil, "sig"].include?(jwk["use"]) && [nil, "ES256"].include?(jwk["alg"])
      return unless jwk["kid"].nil? || jwk["kid"].is_a?(String) # a kid a token could name

      x, y = jwk.values_at("x", "y").map { |coordinate| coordinate_bytes(coordinate) }
      pkey = x && y && ec_key(x, y)
      Key.new(jwk["kid"], pkey) if pkey
    end

    def self.coordinate_bytes(text)
      bytes = (JWS.base64url(text) rescue nil) if text.is_a?(String)
      bytes if bytes&.bytesize == 32
    end

    # The key, read from its SubjectPublicKeyInfo (RFC 5480) holding the uncompressed point
    # 04 || x || y: OpenSSL 3's keys cannot be assembled by setting the point, and ruby-jwt's
    # own JWK import differs between its versions. OpenSSL refuses a point off the curve;
    # on_curve? says so again, beside the rule.
    def self.ec_key(x, y)
      spki = OpenSSL::ASN1::Sequence([
                                       OpenSSL::ASN1::Sequence([OpenSSL::ASN1::ObjectId("id-ecPublicKey"),
                                                                OpenSSL::ASN1::ObjectId("prime256v1")]),
                                       OpenSSL::ASN1::BitString("\x04".b + x + y)
                                     ])
      # PKey.read, not PKey::EC.new: that one reads a DER it cannot parse as a curve's name.
      pkey = OpenSSL::PKey.read(spki.to_der)
      pkey if pkey.is_a?(OpenSSL::PKey::EC) && pkey.public_key.on_curve?
    rescue OpenSSL::PKey::PKeyError, OpenSSL::PKey::EC::Point::Error
      nil
    end

    # `keys` (static) or `uri` (fetched on first use, then as the rules say).
    def initialize(keys: nil, uri: nil, log: nil)
      @uri = uri
      @log = log
      @state = Mutex.new # guards @keys and @fetched_at
      @keys = keys || []
      @fetched_at = nil # the last fetch that succeeded
      @fetching = Mutex.new # one fetch at a time; guards @attempted_at
      @attempted_at = nil
    end

    # Raises AssertionRefused unless `signature` (the JWS's third part, decoded) is an
    # ES256 signature of `token` by the key its header names. `now`: the client's clock, in
    # Unix seconds, which also times the cache. Never raises anything else: a failed fetch
    # is logged (edge_jwks_unavailable) and the keys we had keep verifying, for 24 hours
    # after the last good fetch; a 404 drops them at once.
    def verify!(token, header, signature, now)
      check_signature_shape(signature)
      kid = header["kid"]
      raise AssertionRefused, "token malformed" if header.key?("kid") && !kid.is_a?(String)

      keys = current_keys(now)
      return if signed_by_any?(token, named(keys, kid))
      # The kid names a key we have, and it did not sign this: nothing to fetch.
      raise AssertionRefused, "bad signature" if kid && !named(keys, kid).empty?

      # A kid we lack (or hold twice), or no key of ours verifies: the edge may have rotated
      # a key in.
      fresh = refetch(now)
      return if fresh && signed_by_any?(token, named(fresh, kid))

      raise AssertionRefused, kid ? "unknown kid" : "bad signature"
    end

    private

    # RFC 7518 §3.4: exactly r || s, 32 bytes each, and each in [1, N - 1]. ruby-jwt would
    # split a signature of any length in two, and read ASN.1 DER as two odd numbers.
    def check_signature_shape(signature)
      raise AssertionRefused, "signature is not 64 bytes (r || s)" unless signature.bytesize == 64

      r, s = signature.unpack("H64H64").map { |hex| hex.to_i(16) }
      raise AssertionRefused, "signature r or s out of range" unless [r, s].all? { |v| v.between?(1, P256_ORDER - 1) }
    end

    # The one key a kid names, in a list, or all of them without a kid. A kid is a promise of
    # which key signed: a kid naming two usable keys names none (the set is ambiguous, and
    # the edge never publishes that), so it is refused as an unknown kid is, even if one of
    # the two would verify, and may fetch the set again as an unknown kid does.
    def named(keys, kid)
      return keys unless kid

      keys = keys.select { |key| key.kid == kid }
      keys.size == 1 ? keys : []
    end

    # ruby-jwt checks the signature (it turns r || s into the DER OpenSSL verifies), and
    # the algorithm again: ES256 only, never the key as an HMAC secret.
    def signed_by_any?(token, keys) = keys.any? { |key| JWS.signed_by?(token, key.pkey, "ES256") }

    # The keys that verify at `now`: fetched ones are dropped once the last good fetch is
    # over 24 hours old (abs: a clock set far back does not keep them either), with
    # edge_jwks_unavailable logged once. Static keys (EDGE_JWKS) were pinned by the
    # operator and never expire. Callers refetch first, so keys a fetch could renew are
    # not dropped (nor logged) for nothing.
    def keys_at(now)
      expired = false
      keys = @state.synchronize do
        expired = @uri && !@keys.empty? && (now - @fetched_at).abs > MAX_KEY_AGE
        @keys = [] if expired
        @keys
      end
      @log&.call("edge_jwks_unavailable", reason: "no good fetch for #{MAX_KEY_AGE / 3600} h: keys dropped") if expired
      keys
    end

    # The cached keys, fetched first if there are none yet or they are 5 minutes old.
    def current_keys(now)
      stale = @uri && @state.synchronize { @fetched_at.nil? || (now - @fetched_at).abs >= CACHE_SECONDS }
      refetch(now) if stale
      keys_at(now)
    end

    # Fetches the JWKS unless a fetch was tried in the last 30 s; the keys, if they changed
    # (this thread's fetch or another's, which it waited for), else nil.
    def refetch(now)
      return nil unless @uri

      before = @state.synchronize { @keys }
      @fetching.synchronize do
        # Checked under the lock: threads that waited here for a fetch share its result.
        # (abs: a clock set back by more than the cooldown does not freeze the keys.)
        next if @attempted_at && (now - @attempted_at).abs < COOLDOWN_SECONDS

        @attempted_at = now # a 404 or a failure starts the cooldown too
        store(fetch, now)
      end
      after = keys_at(now)
      after unless after.equal?(before)
    end

    # A fetch's outcome (see fetch) applied to the keys held.
    def store(fetched, now)
      @state.synchronize do
        if fetched
          @keys, @fetched_at = fetched, now
        elsif fetched == false
          # A 404 is the edge saying it publishes no key: the ones we hold (perhaps the very
          # key it stopped publishing because it leaked) are dropped now, not in 24 hours.
          @keys, @fetched_at = [], nil
        end
      end
    end

    # The usable keys at @uri; else edge_jwks_unavailable is logged and it returns false
    # for a 404 (drop the keys we hold), nil for a failure (keep them: they go on verifying
    # until a fetch succeeds, for at most 24 hours after the last one that did).
    def fetch
      body = Timeout.timeout(FETCH_TIMEOUT, Unavailable, "no answer within #{FETCH_TIMEOUT} s") { download }
      usable_keys(body)
    rescue NotPublished => e
      @log&.call("edge_jwks_unavailable", reason: e.message)
      false
    rescue StandardError => e
      @log&.call("edge_jwks_unavailable", reason: failure_reason(e))
      nil
    end

    # A reason that never quotes the response: Net::HTTPBadResponse, say, holds its bytes.
    def failure_reason(error)
      case error
      when Unavailable then error.message
      when Timeout::Error then "no answer within #{FETCH_TIMEOUT} s" # Net::OpenTimeout, Net::ReadTimeout too
      when SystemCallError, SocketError, OpenSSL::SSL::SSLError then error.message # the OS's or TLS's words
      else error.class.name
      end
    end

    def download
      http = Net::HTTP.new(@uri.hostname, @uri.port)
      http.use_ssl = @uri.scheme.casecmp?("https") # and so verifies the certificate (VERIFY_PEER)
      http.open_timeout = http.read_timeout = http.write_timeout = http.ssl_timeout = FETCH_TIMEOUT
      http.max_retries = 0 # one request per fetch
      # identity: Net::HTTP would inflate a compressed body past the limit before we count it.
      request = Net::HTTP::Get.new(@uri, "Accept" => "application/json", "Accept-Encoding" => "identity")
      body = nil
      http.start { http.request(request) { |response| body = read_body(response) } }
      body
    end

    # Only a 200 (a redirect is not followed: it could lead to http://), at most 64 KiB.
    def read_body(response)
      raise NotPublished, "HTTP status 404: the edge publishes no JWKS, keys dropped" if response.code == "404"
      raise Unavailable, "HTTP status #{response.code}" unless response.code == "200"
      raise Unavailable, "body over #{MAX_BODY} bytes" if response.content_length.to_i > MAX_BODY

      body = +""
      response.read_body do |chunk|
        body << chunk
        raise Unavailable, "body over #{MAX_BODY} bytes" if body.bytesize > MAX_BODY
      end
      body
    end

    # {"keys": [...]} → its usable keys; a key with a private part is skipped here (the
    # edge never serves one; if it did, we use the public part of nothing).
    def usable_keys(body)
      text = body.force_encoding(Encoding::UTF_8)
      value = text.valid_encoding? ? self.class.parse_json(text) : :not_json
      raise Unavailable, "not JSON" if value == :not_json

      keys = value["keys"] if value.is_a?(Hash)
      raise Unavailable, 'not a JWKS, {"keys": [...]}' unless keys.is_a?(Array)

      usable = keys.filter_map { |jwk| self.class.public_key(jwk) }
      # Replacing good keys with none would make every request anonymous until the next fetch.
      raise Unavailable, "no usable key" if usable.empty?

      usable
    end
  end
  private_constant :Jwks
end
