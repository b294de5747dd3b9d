#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "session_harness.hpp"
#include "signer/body_hasher.hpp"
#include "test_support/temp_dir.hpp"

using namespace relay_test;
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

// The OpenSSL-CLI-made test vector from password_hash_test.cpp: password "s3cret-Passw0rd".
constexpr const char* kAppHash =
    "$pbkdf2-sha256$1000$ABEiM0RVZneImaq7zN3u/w==$twhcFCobrxhm44Np0tymzQ2E+I0ynqDPXa2dqm6zsi8=";

relay::RelaySettings auth_settings() {
  auto s = test_settings();
  s.auth_users = {{"app", kAppHash, {"*"}}};
  s.allow_auth_without_tls = true;
  return s;
}

std::string b64(std::string_view text) { return signer::base64_encode(text); }

void ehlo(Client& client) {
  REQUIRE(client.code() == 220);
  client.send("EHLO client.test\r\n");
  REQUIRE(client.code() == 250);
}

}  // namespace

TEST_CASE("AUTH PLAIN grants relaying and is required when require_auth is set") {
  auto settings = auth_settings();
  settings.require_auth = true;
  settings.allowed_networks = {*dkr::parse_cidr("127.0.0.1/32")};
  Relay relay(settings);
  Client client(relay.port, "127.0.0.2");
  REQUIRE(client.code() == 220);
  client.send("EHLO client.test\r\n");
  auto caps = client.read_reply();
  CHECK(caps.text().find("AUTH PLAIN LOGIN") != std::string::npos);
  client.send("MAIL FROM:<alice@example.com>\r\n");
  auto r = client.read_reply();
  CHECK(r.code == 530);
  CHECK(r.lines.at(0).starts_with("5.7.0"));

  client.send("AUTH PLAIN " + b64(std::string("\0app\0wrong", 10)) + "\r\n");
  r = client.read_reply();
  CHECK(r.code == 535);
  CHECK(r.lines.at(0).starts_with("5.7.8"));
  client.send("AUTH PLAIN " + b64(std::string("\0nobody\0s3cret-Passw0rd", 23)) + "\r\n");
  CHECK(client.code() == 535);
  client.send("AUTH PLAIN " + b64(std::string("other\0app\0s3cret-Passw0rd", 25)) + "\r\n");
  CHECK(client.code() == 535);  // authorization identity must be empty or the user

  client.send("AUTH PLAIN " + b64(std::string("\0app\0s3cret-Passw0rd", 20)) + "\r\n");
  r = client.read_reply();
  CHECK(r.code == 235);
  CHECK(r.lines.at(0).starts_with("2.7.0"));
  client.send("AUTH PLAIN " + b64(std::string("\0app\0s3cret-Passw0rd", 20)) + "\r\n");
  CHECK(client.code() == 503);  // already authenticated

  client.send("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
  CHECK(client.code() == 250);
  CHECK(client.code() == 250);  // outside allowed_networks, but authenticated
  CHECK(client.code() == 354);
  client.send(kMessage + ".\r\n");
  CHECK(client.code() == 250);
  auto messages = relay.upstream->messages();
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].prepend.find("with ESMTPA id") != std::string::npos);
}

TEST_CASE("AUTH PLAIN with a continuation line, AUTH LOGIN, cancellation") {
  Relay relay(auth_settings());
  SUBCASE("PLAIN continuation") {
    Client client(relay.port);
    ehlo(client);
    client.send("AUTH PLAIN\r\n");
    auto r = client.read_reply();
    CHECK(r.code == 334);
    client.send(b64(std::string("\0app\0s3cret-Passw0rd", 20)) + "\r\n");
    CHECK(client.code() == 235);
  }
  SUBCASE("LOGIN") {
    Client client(relay.port);
    ehlo(client);
    client.send("AUTH LOGIN\r\n");
    auto r = client.read_reply();
    CHECK(r.code == 334);
    CHECK(r.lines.at(0) == "VXNlcm5hbWU6");
    client.send(b64("app") + "\r\n");
    r = client.read_reply();
    CHECK(r.code == 334);
    CHECK(r.lines.at(0) == "UGFzc3dvcmQ6");
    client.send(b64("s3cret-Passw0rd") + "\r\n");
    CHECK(client.code() == 235);
  }
  SUBCASE("LOGIN with initial response, wrong password") {
    Client client(relay.port);
    ehlo(client);
    client.send("AUTH LOGIN " + b64("app") + "\r\n");
    CHECK(client.code() == 334);
    client.send(b64("nope") + "\r\n");
    CHECK(client.code() == 535);
  }
  SUBCASE("cancel and garbage") {
    Client client(relay.port);
    ehlo(client);
    client.send("AUTH PLAIN\r\n*\r\nAUTH PLAIN !!!notbase64\r\nAUTH CRAM-MD5\r\nNOOP\r\n");
    CHECK(client.code() == 334);
    CHECK(client.code() == 501);
    CHECK(client.code() == 501);
    CHECK(client.code() == 504);
    CHECK(client.code() == 250);
  }
}

TEST_CASE("AUTH is not offered nor accepted without TLS unless allowed") {
  auto settings = auth_settings();
  settings.allow_auth_without_tls = false;
  Relay relay(settings);
  Client client(relay.port);
  REQUIRE(client.code() == 220);
  client.send("EHLO client.test\r\n");
  auto caps = client.read_reply();
  CHECK(caps.text().find("AUTH") == std::string::npos);
  client.send("AUTH PLAIN " + b64(std::string("\0app\0s3cret-Passw0rd", 20)) + "\r\n");
  auto r = client.read_reply();
  CHECK(r.code == 538);
  CHECK(r.lines.at(0).starts_with("5.7.11"));
}

namespace {

struct TlsClient {
  asio::io_context io;
  asio::ssl::context ctx{asio::ssl::context::tls_client};
  asio::ssl::stream<asio::ip::tcp::socket> stream{io, ctx};
  asio::streambuf buffer;

  explicit TlsClient(std::uint16_t port) {
    stream.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
    timeval tv{5, 0};
    ::setsockopt(stream.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  template <class S>
  Reply read(S& s) {
    Reply reply;
    while (true) {
      boost::system::error_code ec;
      asio::read_until(s, buffer, "\r\n", ec);
      if (ec) return Reply{};
      std::istream in(&buffer);
      std::string line;
      std::getline(in, line);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.size() < 4) return Reply{};
      reply.code = std::stoi(line.substr(0, 3));
      reply.lines.push_back(line.substr(4));
      if (line[3] == ' ') return reply;
    }
  }
  Reply plain_read() { return read(stream.next_layer()); }
  Reply tls_read() { return read(stream); }
  void plain_send(std::string_view text) { asio::write(stream.next_layer(), asio::buffer(text)); }
  void tls_send(std::string_view text) { asio::write(stream, asio::buffer(text)); }
};

}  // namespace

TEST_CASE("STARTTLS: upgrade, state reset, plaintext pipelined after STARTTLS is discarded") {
  dkr::test::TempDir dir;
  auto cert = dir / "cert.pem";
  auto key = dir / "key.pem";
  std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=relay.test"
      " -keyout " +
      key.string() + " -out " + cert.string() + " >/dev/null 2>&1";
  REQUIRE(std::system(command.c_str()) == 0);
  auto settings = auth_settings();
  settings.allow_auth_without_tls = false;
  settings.tls_cert = cert.string();
  settings.tls_key = key.string();
  Relay relay(settings);

  TlsClient client(relay.port);
  CHECK(client.plain_read().code == 220);
  client.plain_send("EHLO client.test\r\n");
  auto caps = client.plain_read();
  CHECK(caps.text().find("STARTTLS") != std::string::npos);
  CHECK(caps.text().find("AUTH") == std::string::npos);
  // The injection attack of CVE-2011-0411: a command sent in plaintext with STARTTLS.
  client.plain_send("STARTTLS\r\nMAIL FROM:<injected@example.com>\r\n");
  auto ready = client.plain_read();
  CHECK(ready.code == 220);
  CHECK(client.buffer.size() == 0);
  client.stream.handshake(asio::ssl::stream_base::client);

  client.tls_send("MAIL FROM:<alice@example.com>\r\n");
  CHECK(client.tls_read().code == 503);  // state reset: EHLO needed again, and no injected MAIL
  client.tls_send("EHLO client.test\r\n");
  caps = client.tls_read();
  CHECK(caps.code == 250);
  CHECK(caps.lines.at(0).find("greets") != std::string::npos);
  CHECK(caps.text().find("STARTTLS") == std::string::npos);
  CHECK(caps.text().find("AUTH PLAIN LOGIN") != std::string::npos);
  client.tls_send("AUTH PLAIN " + b64(std::string("\0app\0s3cret-Passw0rd", 20)) + "\r\n");
  CHECK(client.tls_read().code == 235);
  client.tls_send("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
  CHECK(client.tls_read().code == 250);
  CHECK(client.tls_read().code == 250);
  CHECK(client.tls_read().code == 354);
  client.tls_send(kMessage + ".\r\nQUIT\r\n");
  CHECK(client.tls_read().code == 250);
  CHECK(client.tls_read().code == 221);
  auto messages = relay.upstream->messages();
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].mail_from == "<alice@example.com>");
  CHECK(messages[0].prepend.find("with ESMTPSA id") != std::string::npos);
}

TEST_CASE("a bad certificate path is a start error, not a crash") {
  auto settings = test_settings();
  settings.tls_cert = "/nonexistent/cert.pem";
  settings.tls_key = "/nonexistent/key.pem";
  relay::RelayMetrics metrics;
  relay::RelayServer server(settings, std::make_shared<FakeKeyStore>(), std::make_shared<RecordingUpstream>(), metrics);
  auto started = server.start();
  CHECK_FALSE(started.ok());
  CHECK_FALSE(server.running());
}
