// The relay's own TLS session ticket keys (relay/src/tls_ticket_keys.*): a returning client resumes,
// a ticket sealed with the key before the current one still resumes (and is replaced), an older
// one does not. Client and server talk over an in-memory BIO pair; rotation 0 s makes every ticket
// operation start a new key, so the key ages are exact without waiting.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include <openssl/ssl.h>

#include "tls_ticket_keys.hpp"

namespace fs = std::filesystem;

namespace {

struct Pki {
  fs::path dir;
  fs::path cert;
  fs::path key;
  Pki() {
    std::random_device rd;
    dir = fs::temp_directory_path() / ("relay-ticket-test-" + std::to_string(rd()));
    fs::create_directories(dir);
    cert = dir / "cert.pem";
    key = dir / "key.pem";
    const std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=relay.test -keyout " +
        key.string() + " -out " + cert.string() + " >/dev/null 2>&1";
    REQUIRE(std::system(command.c_str()) == 0);
  }
  ~Pki() { fs::remove_all(dir); }
};

// One TLS 1.3 connection; returns whether it resumed and the newest session the client got.
struct Outcome {
  bool resumed = false;
  SSL_SESSION* session = nullptr;  // owned by the caller
};

Outcome connect(SSL_CTX* server_ctx, SSL_CTX* client_ctx, SSL_SESSION* offer) {
  SSL* server = SSL_new(server_ctx);
  SSL* client = SSL_new(client_ctx);
  BIO* server_bio = nullptr;
  BIO* client_bio = nullptr;
  REQUIRE(BIO_new_bio_pair(&server_bio, 0, &client_bio, 0) == 1);
  SSL_set_bio(server, server_bio, server_bio);
  SSL_set_bio(client, client_bio, client_bio);
  SSL_set_accept_state(server);
  SSL_set_connect_state(client);
  if (offer != nullptr) REQUIRE(SSL_set_session(client, offer) == 1);
  bool server_done = false;
  bool client_done = false;
  for (int round = 0; round < 20 && !(server_done && client_done); ++round) {
    if (!client_done) client_done = SSL_do_handshake(client) == 1;
    if (!server_done) server_done = SSL_do_handshake(server) == 1;
  }
  REQUIRE(server_done);
  REQUIRE(client_done);
  // The tickets follow the server's handshake; the client takes them in with its first read.
  char byte = 'x';
  REQUIRE(SSL_write(server, &byte, 1) == 1);
  REQUIRE(SSL_read(client, &byte, 1) == 1);
  Outcome outcome;
  outcome.resumed = SSL_session_reused(client) == 1;
  CHECK(SSL_session_reused(server) == SSL_session_reused(client));
  outcome.session = SSL_get1_session(client);
  SSL_shutdown(client);
  SSL_shutdown(server);
  SSL_free(client);
  SSL_free(server);
  return outcome;
}

struct Contexts {
  SSL_CTX* server = SSL_CTX_new(TLS_server_method());
  SSL_CTX* client = SSL_CTX_new(TLS_client_method());
  Contexts(const Pki& pki, std::chrono::seconds rotation) {
    REQUIRE(SSL_CTX_use_certificate_chain_file(server, pki.cert.c_str()) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey_file(server, pki.key.c_str(), SSL_FILETYPE_PEM) == 1);
    REQUIRE(dkr::relay::install_rotating_ticket_keys(server, rotation));
    SSL_CTX_set_num_tickets(server, 1);
    SSL_CTX_set_min_proto_version(client, TLS1_3_VERSION);
  }
  ~Contexts() {
    SSL_CTX_free(server);
    SSL_CTX_free(client);
  }
};

}  // namespace

TEST_CASE("TLS tickets: a returning client resumes with the ticket it was given") {
  Pki pki;
  Contexts ctx(pki, std::chrono::hours(1));
  Outcome first = connect(ctx.server, ctx.client, nullptr);
  CHECK_FALSE(first.resumed);
  REQUIRE(first.session != nullptr);
  Outcome second = connect(ctx.server, ctx.client, first.session);
  CHECK(second.resumed);
  // A resumed connection gets a fresh ticket too (not reused; and the server answers the client's
  // Finished at once instead of waiting for its first command).
  REQUIRE(second.session != nullptr);
  const unsigned char* first_ticket = nullptr;
  const unsigned char* second_ticket = nullptr;
  size_t first_length = 0;
  size_t second_length = 0;
  SSL_SESSION_get0_ticket(first.session, &first_ticket, &first_length);
  SSL_SESSION_get0_ticket(second.session, &second_ticket, &second_length);
  REQUIRE(first_length > 0);
  REQUIRE(second_length > 0);
  CHECK((first_length != second_length || std::memcmp(first_ticket, second_ticket, first_length) != 0));
  // A relay with other keys (another process, or after a restart) cannot open the ticket.
  Contexts other(pki, std::chrono::hours(1));
  Outcome elsewhere = connect(other.server, other.client, second.session);
  CHECK_FALSE(elsewhere.resumed);
  for (SSL_SESSION* s : {first.session, second.session, elsewhere.session}) SSL_SESSION_free(s);
}

TEST_CASE("TLS tickets: the key before the current one still resumes, an older one does not") {
  Pki pki;
  Contexts ctx(pki, std::chrono::seconds(0));                // every ticket operation makes a new key
  Outcome first = connect(ctx.server, ctx.client, nullptr);  // ticket sealed with key 1
  REQUIRE(first.session != nullptr);
  // Opening it makes key 2 (key 1 is now the one before): resumed, and a ticket with key 3 issued.
  Outcome second = connect(ctx.server, ctx.client, first.session);
  CHECK(second.resumed);
  // Key 1 is now two keys old: forgotten, so a full handshake.
  Outcome third = connect(ctx.server, ctx.client, first.session);
  CHECK_FALSE(third.resumed);
  for (SSL_SESSION* s : {first.session, second.session, third.session}) SSL_SESSION_free(s);
}
