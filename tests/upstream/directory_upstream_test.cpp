#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "test_support.hpp"
#include "upstream/directory_upstream.hpp"

using namespace dkr::upstream;
using dkr::upstream_test::TempDir;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs one transaction through the upstream and returns the replies in order.
std::vector<SmtpReply> run(DirectoryUpstream& upstream, const std::string& content, bool abort_before_data) {
  boost::asio::io_context io;
  // The file write runs on the upstream's own pool: keep io running until its reply is back.
  auto work = boost::asio::make_work_guard(io);
  std::vector<SmtpReply> replies;
  std::unique_ptr<UpstreamTransaction> txn;
  upstream.begin(io.get_executor(), [&](std::unique_ptr<UpstreamTransaction> t, SmtpReply) {
    txn = std::move(t);
    txn->mail_from("<alice@example.com> BODY=8BITMIME", [&](SmtpReply r) {
      replies.push_back(r);
      txn->rcpt_to("<bob@example.net>", [&](SmtpReply r2) {
        replies.push_back(r2);
        if (abort_before_data) txn->abort();
        auto spool = std::make_shared<MessageSpool>(16, "");
        REQUIRE(spool->append(content).ok());
        txn->data({"X-Prepended: yes\r\n", spool}, [&](SmtpReply r3) {
          replies.push_back(r3);
          work.reset();
        });
      });
    });
  });
  io.run();
  return replies;
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("directory upstream writes the exact message and a JSON envelope, atomically") {
  TempDir dir;
  auto opened = DirectoryUpstream::open(dir.path() / "outbox");
  REQUIRE(opened.ok());
  auto upstream = *opened;
  const std::string content = "From: alice@example.com\r\n\r\nbody with \xc3\xbc and .dots\r\n";
  auto replies = run(*upstream, content, false);
  REQUIRE(replies.size() == 3);
  CHECK(replies[0].code == 250);
  CHECK(replies[1].code == 250);
  CHECK(replies[2].code == 250);
  auto text = replies[2].lines.at(0);
  REQUIRE(text.starts_with("2.0.0 Ok: queued as "));
  auto name = text.substr(std::string("2.0.0 Ok: queued as ").size());
  CHECK(slurp(upstream->directory() / name) == "X-Prepended: yes\r\n" + content);
  auto stem = name.substr(0, name.size() - 4);
  auto envelope = nlohmann::json::parse(slurp(upstream->directory() / (stem + ".envelope.json")));
  CHECK(envelope["mail_from"] == "alice@example.com");
  CHECK(envelope["mail_from_args"] == "<alice@example.com> BODY=8BITMIME");
  CHECK(envelope["rcpt_to"] == nlohmann::json::array({"bob@example.net"}));
  int files = 0;
  for (const auto& entry : fs::directory_iterator(upstream->directory())) {
    CHECK(entry.path().filename().string().front() != '.');  // no temporary files left
    ++files;
  }
  CHECK(files == 2);
  CHECK(upstream->reachable());
}

TEST_CASE("directory upstream: an aborted transaction writes nothing and still answers") {
  TempDir dir;
  auto upstream = DirectoryUpstream::open(dir.path()).value();
  auto replies = run(*upstream, "From: a@b.example\r\n\r\nx\r\n", true);
  REQUIRE(replies.size() == 3);
  CHECK(replies[2].code == 451);
  CHECK(fs::is_empty(dir.path()));
}

TEST_SUITE_END();
