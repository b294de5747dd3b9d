#pragma once
// Every setting of the plain [section] tables, one row each: the one place to add a key.
//
//   X(section, member, "key", type, default, role, "doc", kind, kind arguments...)
//
// - section/member: where the value lands, Config::section.member; config.hpp declares the member
//   from `type` and `default` (parenthesize a default that holds a comma).
// - "key": the name in the file; DKIM_RELAY_<SECTION>_<KEY> in the environment.
// - role: `limit` for a key that bounds what a client may do; each one stands in relay/README.md's
//   limits table with its default (tests/config/settings_table_test.cpp checks both ways).
// - "doc": one line, printed above the key by `dkim-relay config show`.
// - kind: how a value is read, checked and printed: <kind>_field in config/src/schema.cpp, called
//   with the kind arguments (bounds, a text check, a name table...).
//
// The rows are in the order `config show` prints them. Arrays of tables ([[relay.clients]],
// [[admin.tokens]], [[auth.users]]) are not plain keys and are read in config/src/toml_source.cpp.
// Adding a key: a row here, the key with its comment in config/dkim-relay.example.toml, and for a
// limit its row in relay/README.md. A [relay] key reaches relay::RelaySettings by itself when that
// has a member of the same name (app/runtime_settings.cpp); app code converts the others.

// clang-format off
#define DKR_RELAY_SETTINGS(X) \
  X(relay, listen, "listen", std::vector<Endpoint>, (std::vector<Endpoint>{{"127.0.0.1", 2525}}), plain, \
    "Addresses the SMTP listener binds to; port 0 picks a free port.", endpoint_list) \
  X(relay, hostname, "hostname", std::string, {}, plain, \
    "Name in the greeting and EHLO reply; empty: the machine's host name.", text, hostname_check) \
  X(relay, max_message_size, "max_message_size", std::uint64_t, 25ull * 1024 * 1024, limit, \
    "Largest message accepted (SIZE, RFC 1870); larger ones get 552 5.3.4.", size, 1) \
  X(relay, allowed_networks, "allowed_networks", std::vector<Cidr>, \
    (std::vector<Cidr>{Cidr{{127}, true, 8}, /* 127.0.0.0/8 */ \
                       Cidr{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, false, 128}}), /* ::1/128 */ \
    limit, "Networks that may relay without AUTH; others get 550 5.7.1 at RCPT.", cidr_list) \
  X(relay, tls_cert, "tls_cert", std::string, {}, plain, \
    "PEM certificate chain for STARTTLS; empty with tls_key: no STARTTLS.", text) \
  X(relay, tls_key, "tls_key", std::string, {}, plain, "PEM private key for STARTTLS.", text) \
  X(relay, tls_extra_cert, "tls_extra_cert", std::string, {}, plain, \
    "A second certificate chain of the other key type (RSA beside ECDSA); empty: none.", text) \
  X(relay, tls_extra_key, "tls_extra_key", std::string, {}, plain, "PEM private key of tls_extra_cert.", text) \
  X(relay, require_auth, "require_auth", bool, false, limit, \
    "Require SMTP AUTH before MAIL (530 5.7.0 otherwise).", boolean) \
  X(relay, allow_auth_without_tls, "allow_auth_without_tls", bool, false, limit, \
    "Offer AUTH without TLS; passwords then travel in clear.", boolean) \
  X(relay, unsigned_policy, "unsigned", UnsignedPolicy, UnsignedPolicy::Tempfail, limit, \
    "A message no key signs: pass, tempfail (451 4.7.1) or reject (550 5.7.1).", one_of, kUnsignedPolicyNames) \
  X(relay, bare_line_endings, "bare_line_endings", BareLineEndings, BareLineEndings::Reject, limit, \
    "Lone CR or LF in DATA: reject (550 5.6.0) or normalize to CRLF.", one_of, kBareLineEndingsNames) \
  X(relay, max_recipients, "max_recipients", std::uint32_t, 100, limit, \
    "Recipients per transaction; more get 452 4.5.3.", integer, 1, kU32Max) \
  X(relay, max_messages_per_connection, "max_messages_per_connection", std::uint32_t, 100, limit, \
    "Transactions per connection; the next MAIL gets 421 4.7.0.", integer, 1, kU32Max) \
  X(relay, max_connections, "max_connections", std::uint32_t, 1000, limit, \
    "SMTP connections at once; more get 421 4.7.0.", integer, 1, kU32Max) \
  X(relay, max_connections_per_ip, "max_connections_per_ip", std::uint32_t, 50, limit, \
    "SMTP connections at once from one client address.", integer, 1, kU32Max) \
  X(relay, per_ip_limit_applies_to_loopback, "per_ip_limit_applies_to_loopback", bool, false, limit, \
    "Whether max_connections_per_ip counts loopback clients too.", boolean) \
  X(relay, max_command_line, "max_command_line", std::uint32_t, 512, limit, \
    "Longest command line in bytes incl. CRLF (RFC 5321 4.5.3.1.4).", integer, 1, kU32Max) \
  X(relay, max_text_line, "max_text_line", std::uint32_t, 1000, limit, \
    "Longest DATA line in bytes incl. CRLF (RFC 5321 4.5.3.1.6).", integer, 1, kU32Max) \
  X(relay, max_bad_commands, "max_bad_commands", std::uint32_t, 10, limit, \
    "Errors tolerated per connection before 421 4.7.0 and close.", integer, 1, kU32Max) \
  X(relay, auth_threads, "auth_threads", std::uint32_t, 1, limit, \
    "Threads for AUTH password checks (PBKDF2), never an I/O thread.", integer, 1, 64) \
  X(relay, auth_queue, "auth_queue", std::uint32_t, 16, limit, \
    "AUTH checks waiting for a thread; one more gets 454 4.7.0.", integer, 0, 100000) \
  X(relay, auth_failure_delay_max, "auth_failure_delay_max", milliseconds, std::chrono::seconds(30), limit, \
    "Cap of the wait after failed AUTH per address and user (1s, 2s, 4s...).", duration, milliseconds(0)) \
  X(relay, signing_threads, "signing_threads", std::uint32_t, 4, limit, \
    "Threads for signatures by PKCS#11 keys (C_Sign), never an I/O thread.", integer, 1, 64) \
  X(relay, signing_queue, "signing_queue", std::uint32_t, 256, limit, \
    "PKCS#11 signatures waiting for a thread; one more gets 451 4.3.0.", integer, 0, 100000) \
  X(relay, command_timeout, "command_timeout", milliseconds, std::chrono::minutes(5), limit, \
    "Waiting for a command inside a transaction.", duration, milliseconds(1)) \
  X(relay, data_timeout, "data_timeout", milliseconds, std::chrono::minutes(5), limit, \
    "Silence between two reads within DATA.", duration, milliseconds(1)) \
  X(relay, min_data_rate, "min_data_rate", std::uint32_t, 500, limit, \
    "Bytes/s DATA must average beyond data_timeout; 0: no rate limit.", integer, 0, kU32Max) \
  X(relay, idle_timeout, "idle_timeout", milliseconds, std::chrono::minutes(5), limit, \
    "Waiting for a command outside a transaction.", duration, milliseconds(1)) \
  X(relay, stress_idle_timeout, "stress_idle_timeout", milliseconds, std::chrono::seconds(10), limit, \
    "idle_timeout from 75 % of max_connections in use.", duration, milliseconds(1)) \
  X(relay, stress_command_timeout, "stress_command_timeout", milliseconds, std::chrono::seconds(10), limit, \
    "command_timeout under stress.", duration, milliseconds(1)) \
  X(relay, stress_data_timeout, "stress_data_timeout", milliseconds, std::chrono::seconds(10), limit, \
    "data_timeout under stress.", duration, milliseconds(1)) \
  X(relay, spill_threshold, "spill_threshold", std::uint64_t, 1024ull * 1024, plain, \
    "Messages larger than this go to a 0600 temporary file.", size, 0) \
  X(relay, spill_directory, "spill_directory", std::string, {}, plain, \
    "Where such files go; empty: the system temp dir.", text) \
  X(relay, threads, "threads", std::uint32_t, 0, plain, "I/O threads; 0: one per CPU core.", integer, 0, 1024) \
  X(relay, shutdown_grace, "shutdown_grace", milliseconds, std::chrono::seconds(30), limit, \
    "On SIGTERM, how long sessions in progress may finish.", duration, milliseconds(0))

#define DKR_UPSTREAM_SETTINGS(X) \
  X(upstream, type, "type", UpstreamType, UpstreamType::Directory, plain, \
    "Where signed mail goes: smtp (host:port) or directory (files).", one_of, kUpstreamTypeNames) \
  X(upstream, host, "host", std::string, "127.0.0.1", plain, "The next hop for type = smtp.", text, non_empty) \
  X(upstream, port, "port", std::uint16_t, 25, plain, "Its port.", integer, 1, 65535) \
  X(upstream, starttls, "starttls", StartTls, StartTls::Opportunistic, plain, \
    "STARTTLS to the upstream: none, opportunistic or required; unset: required unless host is loopback.", \
    one_of, kStartTlsNames) \
  X(upstream, ca_file, "ca_file", std::string, {}, plain, \
    "PEM CA bundle for the upstream certificate; empty: the system store.", text) \
  X(upstream, verify_hostname, "verify_hostname", bool, true, plain, \
    "Check that the upstream certificate matches host.", boolean) \
  X(upstream, username, "username", std::string, {}, plain, "SMTP AUTH user at the upstream; empty: no AUTH.", text) \
  X(upstream, password_file, "password_file", std::string, {}, plain, \
    "File holding the upstream password, read at load into password.", text) \
  /* The effective secret: the inline value or password_file's contents. Never log it. */ \
  X(upstream, password, "password", std::string, {}, plain, \
    "The upstream password inline; prefer password_file. Printed masked.", secret, &UpstreamConfig::password_file) \
  X(upstream, directory, "directory", std::string, "./data/outbox", plain, \
    "Output directory for type = directory.", text, non_empty) \
  X(upstream, connect_timeout, "connect_timeout", milliseconds, std::chrono::seconds(30), plain, \
    "Connecting to the upstream.", duration, milliseconds(1)) \
  X(upstream, command_timeout, "command_timeout", milliseconds, std::chrono::minutes(5), plain, \
    "Waiting for an upstream reply.", duration, milliseconds(1)) \
  X(upstream, pool_size, "pool_size", std::uint32_t, 4, plain, "Upstream connections kept open and reused.", \
    integer, 1, 1024)

#define DKR_SIGNING_SETTINGS(X) \
  X(signing, algorithms, "algorithms", std::vector<SigningAlgorithm>, \
    (std::vector<SigningAlgorithm>{SigningAlgorithm::RsaSha256}), plain, \
    "Signatures added to each message: rsa-sha256, ed25519-sha256 or both.", algorithm_list) \
  X(signing, canonicalization, "canonicalization", Canonicalization, {}, plain, \
    "c= tag, <header>/<body> with simple or relaxed each.", canonicalization) \
  /* Empty: the signer's default list (signer::default_signed_headers()). */ \
  X(signing, headers, "headers", std::vector<std::string>, {}, plain, \
    "Header fields signed when present; [] = the built-in list.", header_list, \
    &RenderOptions::default_signed_headers) \
  /* Empty: signer::default_oversigned_headers(). */ \
  X(signing, oversign, "oversign", std::vector<std::string>, {}, plain, \
    "Header fields signed once more than they occur; [] = the built-in list.", header_list, \
    &RenderOptions::default_oversigned_headers) \
  X(signing, expire_after, "expire_after", milliseconds, milliseconds(0), plain, \
    "x= tag: signatures expire this long after signing; 0s: none.", duration, milliseconds(0)) \
  X(signing, allow_weak_rsa, "allow_weak_rsa", bool, false, plain, "Accept 1024-bit RSA keys.", boolean)

#define DKR_KEYSTORE_SETTINGS(X) \
  X(keystore, type, "type", KeystoreType, KeystoreType::Directory, plain, \
    "directory (key files under path) or postgres (a fleet's shared store).", one_of, kKeystoreTypeNames) \
  X(keystore, path, "path", std::string, "./data/keys", plain, \
    "Directory with one sub-directory of keys per signing domain.", text, non_empty) \
  X(keystore, selector_pattern, "selector_pattern", std::string, "s%Y%m{seq}", plain, \
    "Name of new selectors: strftime fields plus {seq} = a, b, c...", text, selector_pattern_check) \
  X(keystore, watch, "watch", bool, true, plain, "Reload keys when files under path change.", boolean) \
  X(keystore, demo_domain, "demo_domain", std::string, "example.com", plain, \
    "Domain given a key on first start when the store is empty; empty: none.", text, domain_check) \
  X(keystore, dsn, "dsn", std::string, {}, plain, \
    "type = postgres: libpq connection string or URI; printed masked.", secret, &KeystoreConfig::dsn_file) \
  X(keystore, dsn_file, "dsn_file", std::string, {}, plain, "File holding dsn, read at load.", text) \
  X(keystore, kek_file, "kek_file", std::string, {}, plain, \
    "32 random bytes, base64: the key-encryption key of the private keys.", text) \
  X(keystore, schema, "schema", std::string, "dkim_relay", plain, \
    "PostgreSQL schema of the keystore tables.", text, sql_schema_check) \
  X(keystore, poll_interval, "poll_interval", milliseconds, std::chrono::seconds(30), plain, \
    "Full resync, in case a notification was lost.", duration, std::chrono::seconds(1)) \
  X(keystore, private_keys, "private_keys", PrivateKeys, PrivateKeys::Store, plain, \
    "store (private keys in the keystore) or pkcs11 (in the [pkcs11] token; the store keeps references).", \
    one_of, kPrivateKeysNames)

#define DKR_PKCS11_SETTINGS(X) \
  X(pkcs11, module, "module", std::string, {}, plain, \
    "PKCS#11 module: libsofthsm2.so, p11-kit-client.so, an HSM's or KMS's library.", text) \
  X(pkcs11, token_label, "token_label", std::string, {}, plain, "Label of the token that holds the keys.", text) \
  X(pkcs11, pin_file, "pin_file", std::string, {}, plain, "File holding the token's user PIN (mode 0600).", text)

#define DKR_ADMIN_SETTINGS(X) \
  X(admin, enabled, "enabled", bool, true, plain, "The HTTP admin API.", boolean) \
  X(admin, listen, "listen", Endpoint, (Endpoint{"127.0.0.1", 8025}), plain, \
    "Address of the admin API; keep it on loopback unless TLS is set.", endpoint) \
  X(admin, token_file, "token_file", std::string, "./data/admin.token", plain, \
    "File with the admin bearer token; generated on first start if missing.", text) \
  X(admin, token_env, "token_env", std::string, {}, plain, \
    "Variable holding the token instead of token_file; empty: use the file.", text, env_var_name_check) \
  X(admin, tls_cert, "tls_cert", std::string, {}, plain, "PEM certificate for HTTPS; empty: plain HTTP.", text) \
  X(admin, tls_key, "tls_key", std::string, {}, plain, "PEM private key for HTTPS.", text) \
  X(admin, per_domain_metrics, "per_domain_metrics", bool, false, plain, \
    "A domain label on signing metrics (one series per domain).", boolean) \
  X(admin, max_body_size, "max_body_size", std::uint64_t, 64ull * 1024, plain, \
    "Largest admin API request body.", size, 1) \
  X(admin, max_connections, "max_connections", std::uint32_t, 64, limit, \
    "Admin API connections at once; more are closed at accept.", integer, 1, 65535) \
  X(admin, idle_timeout, "idle_timeout", milliseconds, std::chrono::seconds(60), limit, \
    "An admin connection without a complete request is closed after this.", duration, milliseconds(1)) \
  X(admin, max_connections_per_address, "max_connections_per_address", std::uint32_t, 8, limit, \
    "Admin API connections from one address; more are closed at accept.", integer, 1, 65535) \
  X(admin, loopback_reserved_connections, "loopback_reserved_connections", std::uint32_t, 8, limit, \
    "Of max_connections, the last ones only loopback clients may take.", integer, 0, 65535) \
  X(admin, preauth_timeout, "preauth_timeout", milliseconds, std::chrono::seconds(10), limit, \
    "idle_timeout of a connection that has not shown a valid token yet.", duration, milliseconds(1)) \
  X(admin, allow_plaintext, "allow_plaintext", bool, false, limit, \
    "Allow a listen address beyond loopback without TLS.", boolean)

#define DKR_DNS_SETTINGS(X) \
  X(dns, resolver, "resolver", std::optional<Endpoint>, std::nullopt, plain, \
    "DNS server for key record checks, ip or ip:port; empty: the system resolver.", dns_resolver) \
  X(dns, timeout, "timeout", milliseconds, std::chrono::seconds(5), plain, "Timeout of one DNS query.", \
    duration, milliseconds(1)) \
  X(dns, check_interval, "check_interval", milliseconds, std::chrono::seconds(60), plain, \
    "How often staged keys waiting for their DNS record are checked.", duration, std::chrono::seconds(1))

/* [dns.publish]: the section member dns_publish is written [dns.publish] (config::section_table). */
#define DKR_DNS_PUBLISH_SETTINGS(X) \
  X(dns_publish, type, "type", DnsPublishType, DnsPublishType::None, plain, \
    "Publishing key records: none, or rfc2136 (DNS UPDATE signed with TSIG).", one_of, kDnsPublishTypeNames) \
  X(dns_publish, server, "server", std::optional<Endpoint>, std::nullopt, plain, \
    "Primary server taking the updates, ip or ip:port (port 53 if omitted).", dns_resolver) \
  X(dns_publish, zone, "zone", std::string, {}, plain, \
    "The zone our records go in (the delegation zone, e.g. dkim.esp.example).", text, domain_check) \
  X(dns_publish, tsig_key_file, "tsig_key_file", std::string, {}, plain, \
    "TSIG key in BIND's key-file format (tsig-keygen), mode 0600 or 0640.", text) \
  X(dns_publish, ttl, "ttl", std::uint32_t, 300, plain, "TTL in seconds of the records we publish.", \
    integer, 0, 2147483647) \
  X(dns_publish, selectors, "selectors", std::vector<std::string>, (std::vector<std::string>{"dkr1", "dkr2"}), \
    plain, "Selector slots of a delegated domain; rotation alternates between them.", selector_list)

#define DKR_LOG_SETTINGS(X) \
  X(log, level, "level", LogLevel, LogLevel::Info, plain, \
    "trace, debug, info, warn, error, critical or off.", one_of, kLogLevelNames) \
  X(log, format, "format", LogFormat, LogFormat::Text, plain, \
    "text for people, json for log collectors.", one_of, kLogFormatNames)

#define DKR_METRICS_SETTINGS(X) \
  X(metrics, enabled, "enabled", bool, false, plain, \
    "A listener for /metrics, /livez and /readyz without a token (probes, Prometheus).", boolean) \
  X(metrics, listen, "listen", Endpoint, (Endpoint{"127.0.0.1", 9464}), plain, \
    "Address of the metrics listener; plain HTTP, no token: loopback unless scrapers need more.", endpoint)

#define DKR_ROTATION_SETTINGS(X) \
  X(rotation, enabled, "enabled", bool, false, plain, \
    "Rotate every domain's keys on a schedule (activation only after DNS proof).", boolean) \
  X(rotation, interval, "interval", milliseconds, std::chrono::hours(90 * 24), plain, \
    "An active key is replaced this long after it became active.", duration, std::chrono::seconds(1)) \
  X(rotation, retire_after, "retire_after", milliseconds, std::chrono::hours(7 * 24), plain, \
    "The replaced key stays published, retiring, this long; then it is revoked.", duration, std::chrono::seconds(1)) \
  X(rotation, delete_after, "delete_after", milliseconds, std::chrono::hours(30 * 24), plain, \
    "A revoked key (p= empty) stays this long; then its private key and record are deleted.", duration, \
    std::chrono::seconds(1)) \
  X(rotation, dns_timeout, "dns_timeout", milliseconds, std::chrono::hours(72), plain, \
    "A staged key whose record DNS has not served by then is an alert.", duration, std::chrono::seconds(1)) \
  X(rotation, allow_short_intervals, "allow_short_intervals", bool, false, plain, \
    "Allow interval under 1 day, and retire_after without the 300s DNS TTL (tests, demos; warned).", boolean) \
  X(rotation, parallel_dns_checks, "parallel_dns_checks", std::uint32_t, 64, plain, \
    "DNS lookups of staged keys in flight at once during a scheduler round.", integer, 1, 4096)

#define DKR_SETTINGS(X) \
  DKR_RELAY_SETTINGS(X) DKR_UPSTREAM_SETTINGS(X) DKR_SIGNING_SETTINGS(X) DKR_KEYSTORE_SETTINGS(X) \
  DKR_PKCS11_SETTINGS(X) DKR_ADMIN_SETTINGS(X) DKR_DNS_SETTINGS(X) DKR_DNS_PUBLISH_SETTINGS(X) DKR_LOG_SETTINGS(X) \
  DKR_METRICS_SETTINGS(X) DKR_ROTATION_SETTINGS(X)

// The member declaration of a row, for the structs in config.hpp.
#define DKR_SETTING_MEMBER(section, member, key, type, default_value, ...) type member = default_value;
// clang-format on
