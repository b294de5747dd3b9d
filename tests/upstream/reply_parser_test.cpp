#include <random>
#include <string>

#include <doctest/doctest.h>

#include "upstream/upstream_reply_parser.hpp"

using dkr::upstream::SmtpReply;
using dkr::upstream::UpstreamReplyParser;
using State = UpstreamReplyParser::State;

namespace {

// Feeds `wire` in pieces cut at the given positions; returns the parser and what was left over.
struct Parsed {
  State state;
  SmtpReply reply;
  std::string rest;
};

Parsed parse_in_pieces(const std::string& wire, std::mt19937& rng) {
  UpstreamReplyParser parser;
  std::string rest;
  std::size_t pos = 0;
  while (pos < wire.size()) {
    std::uniform_int_distribution<std::size_t> piece(1, wire.size() - pos);
    std::string_view chunk(wire.data() + pos, piece(rng));
    pos += chunk.size();
    if (parser.state() != State::incomplete) {
      rest += chunk;
      continue;
    }
    const std::size_t used = parser.feed(chunk);
    rest += chunk.substr(used);
  }
  Parsed out{parser.state(), {}, rest};
  if (out.state == State::complete) out.reply = parser.take();
  return out;
}

Parsed parse(const std::string& wire) {
  std::mt19937 rng(1);
  UpstreamReplyParser parser;
  const std::size_t used = parser.feed(wire);
  Parsed out{parser.state(), {}, wire.substr(used)};
  if (out.state == State::complete) out.reply = parser.take();
  return out;
}

}  // namespace

TEST_SUITE("unit") {
  TEST_CASE("single-line reply") {
    const Parsed p = parse("250 2.1.0 Ok\r\n");
    REQUIRE(p.state == State::complete);
    CHECK(p.reply.code == 250);
    REQUIRE(p.reply.lines.size() == 1);
    CHECK(p.reply.lines[0] == "2.1.0 Ok");
    CHECK(p.rest.empty());
  }

  TEST_CASE("multi-line reply keeps every line and leaves a pipelined reply unread") {
    const Parsed p = parse("250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n354 go\r\n");
    REQUIRE(p.state == State::complete);
    CHECK(p.reply.code == 250);
    CHECK(p.reply.lines == std::vector<std::string>{"mx.example", "PIPELINING", "SIZE 1000"});
    CHECK(p.rest == "354 go\r\n");
  }

  TEST_CASE("bare code, bare LF and empty text are accepted") {
    Parsed p = parse("250\r\n");
    REQUIRE(p.state == State::complete);
    CHECK(p.reply.lines == std::vector<std::string>{""});
    p = parse("421-a\n421 b\n");
    REQUIRE(p.state == State::complete);
    CHECK(p.reply.code == 421);
    CHECK(p.reply.lines == std::vector<std::string>{"a", "b"});
  }

  TEST_CASE("incomplete until the last line ends") {
    UpstreamReplyParser parser;
    CHECK(parser.feed("250-first\r\n250 last") == 19);
    CHECK(parser.state() == State::incomplete);
    CHECK(parser.feed("\r") == 1);
    CHECK(parser.state() == State::incomplete);
    CHECK(parser.feed("\nXYZ") == 1);
    REQUIRE(parser.state() == State::complete);
    CHECK(parser.take().lines == std::vector<std::string>{"first", "last"});
    CHECK(parser.state() == State::incomplete);  // ready for the next reply
  }

  TEST_CASE("malformed replies") {
    CHECK(parse("hello\r\n").state == State::malformed);
    CHECK(parse("25\r\n").state == State::malformed);
    CHECK(parse("250x\r\n").state == State::malformed);
    CHECK(parse("650 no\r\n").state == State::malformed);
    CHECK(parse("150 no\r\n").state == State::malformed);
    CHECK(parse("250-a\r\n550 b\r\n").state == State::malformed);  // codes differ
  }

  TEST_CASE("hostile upstream: long lines truncated, too many lines rejected") {
    const std::string long_line = "250 " + std::string(100000, 'x') + "\r\n";
    Parsed p = parse(long_line);
    REQUIRE(p.state == State::complete);
    CHECK(p.reply.lines[0].size() == UpstreamReplyParser::max_line_length - 4);

    std::string many;
    for (std::size_t i = 0; i < UpstreamReplyParser::max_lines; ++i) many += "250-line\r\n";
    many += "250 end\r\n";
    CHECK(parse(many).state == State::malformed);

    std::string enough;
    for (std::size_t i = 0; i + 1 < UpstreamReplyParser::max_lines; ++i) enough += "250-line\r\n";
    enough += "250 end\r\n";
    p = parse(enough);
    REQUIRE(p.state == State::complete);
    CHECK(p.reply.lines.size() == UpstreamReplyParser::max_lines);
  }

  TEST_CASE("random splits give the same reply as one piece") {
    const std::string wire =
        "250-mx.example greets you\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250 SMTPUTF8\r\n"
        "550 5.1.1 next\r\n";
    std::mt19937 rng(12345);
    for (int round = 0; round < 500; ++round) {
      const Parsed p = parse_in_pieces(wire, rng);
      REQUIRE(p.state == State::complete);
      CHECK(p.reply.code == 250);
      CHECK(p.reply.lines ==
            std::vector<std::string>{"mx.example greets you", "8BITMIME", "AUTH PLAIN LOGIN", "SMTPUTF8"});
      CHECK(p.rest == "550 5.1.1 next\r\n");
    }
  }

}  // TEST_SUITE
