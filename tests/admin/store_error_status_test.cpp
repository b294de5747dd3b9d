// Each kind of key store failure reaches the API client as its own HTTP status, with the real
// DirectoryKeyStore on a temporary directory: the codes come from where the store sets them, not
// from a fake that imitates its rules.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <random>

#include "admin/admin_api.hpp"
#include "keystore/directory_key_store.hpp"

using namespace dkr::admin;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Reply {
  int status = 0;
  json body;
};

class DirectoryStoreFixture {
 public:
  DirectoryStoreFixture()
      : dir_(fs::temp_directory_path() / ("admin-store-status-" + std::to_string(std::random_device{}()))),
        store_(open_store(dir_)),
        api_(*store_, nullptr, AdminHooks{}, counters_, false) {}
  ~DirectoryStoreFixture() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Reply call(std::string_view method, std::string_view target, std::string_view body = "") {
    auto routed = match_route(method, target);
    REQUIRE_MESSAGE(std::holds_alternative<Route>(routed), method, " ", target);
    std::optional<ApiResponse> answer;
    api_.handle(std::get<Route>(routed), body, [&](ApiResponse response) { answer = std::move(response); });
    REQUIRE(answer.has_value());  // synchronous without a resolver
    REQUIRE(answer->content_type == "application/json");
    return Reply{answer->status, json::parse(answer->body)};
  }

  // Ed25519 keys: generated in microseconds, unlike RSA.
  void add_domain(std::string_view domain) {
    const std::string body =
        R"({"domain":")" + std::string(domain) + R"(","selector":"a","algorithm":"ed25519-sha256"})";
    REQUIRE(call("POST", "/v1/domains", body).status == 201);
  }

  fs::path dir_;

 private:
  static std::unique_ptr<dkr::keystore::DirectoryKeyStore> open_store(const fs::path& dir) {
    dkr::keystore::DirectoryKeyStoreOptions options;
    options.path = dir;
    auto store = dkr::keystore::DirectoryKeyStore::open(options);
    REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.error().message));
    return std::move(*store);
  }

  std::unique_ptr<dkr::keystore::DirectoryKeyStore> store_;
  AdminCounters counters_;
  AdminApi api_;
};

}  // namespace

TEST_CASE_FIXTURE(DirectoryStoreFixture, "a key store I/O failure is 500 internal_error, not a conflict") {
  SUBCASE("the domain's directory cannot be created") {
    // A file where the domain's directory must go: mkdir fails whatever the process's privileges
    // (the suite runs as root, which a chmod would not stop).
    std::ofstream(dir_ / "io.example") << "not a directory";
    const Reply reply =
        call("POST", "/v1/domains", R"({"domain":"io.example","selector":"a","algorithm":"ed25519-sha256"})");
    CHECK(reply.status == 500);
    CHECK(reply.body["error"] == "internal_error");
    CHECK(call("GET", "/v1/domains/io.example").status == 404);  // nothing half-made
  }
  SUBCASE("a new key's file cannot be written") {
    add_domain("io.example");
    // A non-empty directory where the staged key's PEM file must be renamed to.
    fs::create_directories(dir_ / "io.example" / "b.pem" / "occupied");
    const Reply reply = call("POST", "/v1/domains/io.example/rotate",
                             R"({"activate":"after_dns","selector":"b","algorithm":"ed25519-sha256"})");
    CHECK(reply.status == 500);
    CHECK(reply.body["error"] == "internal_error");
    const Reply domain = call("GET", "/v1/domains/io.example");
    REQUIRE(domain.status == 200);
    CHECK(domain.body["selectors"].size() == 1);  // the failed rotation left the domain as it was
  }
}

TEST_CASE_FIXTURE(DirectoryStoreFixture, "an illegal transition is 409 conflict") {
  add_domain("t.example");
  REQUIRE(call("POST", "/v1/domains/t.example/rotate",
               R"({"activate":"after_dns","selector":"b","algorithm":"ed25519-sha256"})")
              .status == 202);
  const Reply staged_retire = call("POST", "/v1/domains/t.example/keys/b/retire");
  CHECK(staged_retire.status == 409);
  CHECK(staged_retire.body["error"] == "conflict");
  CHECK(call("POST", "/v1/domains/t.example/keys/a/activate").status == 409);  // already active
  CHECK(call("DELETE", "/v1/domains/t.example/keys/a").status == 409);         // still signing
  CHECK(call("DELETE", "/v1/domains/t.example").status == 409);                // active key, no force
  CHECK(call("POST", "/v1/domains", R"({"domain":"t.example","algorithm":"ed25519-sha256"})").status == 409);
}

TEST_CASE_FIXTURE(DirectoryStoreFixture, "a missing domain or selector is 404 not_found") {
  const Reply missing = call("GET", "/v1/domains/missing.example");
  CHECK(missing.status == 404);
  CHECK(missing.body["error"] == "not_found");
  CHECK(call("DELETE", "/v1/domains/missing.example?force=true").status == 404);
  CHECK(call("POST", "/v1/domains/missing.example/rotate", R"({"activate":"now"})").status == 404);
  CHECK(call("POST", "/v1/domains/missing.example/keys/a/activate").status == 404);
  add_domain("k.example");
  CHECK(call("POST", "/v1/domains/k.example/keys/zz/retire").status == 404);
  CHECK(call("DELETE", "/v1/domains/k.example/keys/zz").status == 404);
}

TEST_CASE_FIXTURE(DirectoryStoreFixture, "an invalid domain or selector name is 400 bad_request") {
  const Reply bad_body_name = call("POST", "/v1/domains", R"({"domain":"-bad-.example","algorithm":"ed25519-sha256"})");
  CHECK(bad_body_name.status == 400);
  CHECK(bad_body_name.body["error"] == "bad_request");
  CHECK(call("POST", "/v1/domains", R"({"domain":"localhost","algorithm":"ed25519-sha256"})").status == 400);
  CHECK(call("POST", "/v1/domains", R"({"domain":"a..example","algorithm":"ed25519-sha256"})").status == 400);
  CHECK(call("GET", "/v1/domains/under_score..example").status == 400);
  CHECK(call("POST", "/v1/domains", R"({"domain":"s.example","selector":"bad selector","algorithm":"ed25519-sha256"})")
            .status == 400);
  CHECK_FALSE(fs::exists(dir_ / "s.example"));  // nothing written for a refused name
}
