// Against Postfix's smtp-sink (docker/install-deps.sh installs it; without it the tests fail).
#include <filesystem>
#include <sys/stat.h>

#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace dkr::upstream_test;
using dkr::upstream::OutboundMessage;
using dkr::upstream::SmtpReply;

namespace {

const char* const smtp_sink = "/usr/sbin/smtp-sink";

class SinkServer {
 public:
  explicit SinkServer(std::vector<std::string> options) : port_(free_port()) {
    // smtp-sink drops privileges to nobody, who must be able to write the dumps.
    std::filesystem::permissions(dir_.path(), std::filesystem::perms::all);
    std::vector<std::string> argv{smtp_sink, "-u", "nobody", "-d", (dir_.path() / "dump.").string()};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back("127.0.0.1:" + std::to_string(port_));
    argv.push_back("16");
    process_ = std::make_unique<ChildProcess>(argv);
    started_ = wait_until([&] { return port_accepts(port_) || !process_->running(); }, 10s) && process_->running();
  }
  std::uint16_t port() const { return port_; }
  bool started() const { return started_; }
  std::vector<std::string> dumps() const {
    std::vector<std::string> out;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
      if (auto text = read_file(entry.path())) out.push_back(*text);
    }
    return out;
  }

 private:
  TempDir dir_;
  std::uint16_t port_;
  std::unique_ptr<ChildProcess> process_;
  bool started_ = false;
};

}  // namespace

TEST_SUITE("smtp_sink") {
  TEST_CASE("delivery to smtp-sink keeps the message intact") {
    // docker/install-deps.sh installs Postfix: without smtp-sink this test fails, never passes empty.
    REQUIRE_MESSAGE(std::filesystem::exists(smtp_sink), "smtp-sink not installed (docker/install-deps.sh installs it)");
    SinkServer sink({});
    REQUIRE(sink.started());
    TempDir spill;
    Driver d(settings_for(sink.port()));
    std::string content = "Subject: sink\r\n\r\n.one\r\n..two\r\n";
    for (int i = 0; i < 20000; ++i) content += (i % 3 ? "x" : ".x") + std::to_string(i) + "\r\n";
    auto begun = d.begin();
    REQUIRE(begun.transaction);
    CHECK(d.mail(*begun.transaction, "<s@example.com>").code == 250);
    CHECK(d.rcpt(*begun.transaction, "<r@example.org>").code == 250);
    const SmtpReply reply =
        d.data(*begun.transaction, OutboundMessage{"X-Prepended: yes\r\n", make_spool(content, spill.path())});
    CHECK(reply.code == 250);
    std::vector<std::string> dumps;
    REQUIRE(wait_until(
        [&] {
          dumps = sink.dumps();
          return dumps.size() == 1 && dumps[0].find("x19999") != std::string::npos;
        },
        5s));
    // The dump holds smtp-sink's own records and Received header, then the message as received,
    // unstuffed, in LF line endings and followed by one empty line.
    const std::string expected = "X-Prepended: yes\r\n" + content;
    std::string lf_expected;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      if (expected[i] == '\r' && i + 1 < expected.size() && expected[i + 1] == '\n') continue;
      lf_expected += expected[i];
    }
    const std::string& dump = dumps[0];
    const auto at = dump.find("X-Prepended: yes");
    REQUIRE(at != std::string::npos);
    CHECK(dump.find("X-Rcpt-Args: <r@example.org>") != std::string::npos);
    const std::string body = dump.substr(at);
    CHECK(body == lf_expected + "\n");
  }

  TEST_CASE("smtp-sink soft rejections are relayed") {
    // docker/install-deps.sh installs Postfix: without smtp-sink this test fails, never passes empty.
    REQUIRE_MESSAGE(std::filesystem::exists(smtp_sink), "smtp-sink not installed (docker/install-deps.sh installs it)");
    SinkServer sink({"-r", "RCPT"});
    REQUIRE(sink.started());
    Driver d(settings_for(sink.port()));
    auto begun = d.begin();
    REQUIRE(begun.transaction);
    CHECK(d.mail(*begun.transaction, "<s@example.com>").code == 250);
    const SmtpReply rcpt = d.rcpt(*begun.transaction, "<r@example.org>");
    CHECK(rcpt.transient());
  }

}  // TEST_SUITE
