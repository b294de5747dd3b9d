#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "upstream/upstream_dot_stuffer.hpp"

using dkr::upstream::UpstreamDotStuffer;

namespace {

// Independent reference: whole-message text replacement, per RFC 5321 4.5.2.
std::string reference_stuff(std::string content) {
  if (!content.empty() && !(content.size() >= 2 && content.compare(content.size() - 2, 2, "\r\n") == 0)) {
    content += "\r\n";
  }
  std::string out;
  if (!content.empty() && content[0] == '.') out += '.';
  for (std::size_t i = 0; i < content.size(); ++i) {
    out += content[i];
    if (content[i] == '\n' && i > 0 && content[i - 1] == '\r' && i + 1 < content.size() && content[i + 1] == '.') {
      out += '.';
    }
  }
  return out + ".\r\n";
}

std::string stuff_in_pieces(const std::string& content, std::mt19937& rng) {
  UpstreamDotStuffer stuffer;
  std::string out;
  std::size_t pos = 0;
  while (pos < content.size()) {
    std::uniform_int_distribution<std::size_t> piece(0, std::min<std::size_t>(content.size() - pos, 7));
    const std::size_t n = piece(rng);
    stuffer.append(std::string_view(content).substr(pos, n), out);
    pos += n;
  }
  stuffer.finish(out);
  return out;
}

// The gather-write form: views into the content split at random, joined only here.
std::string stuff_as_views(const std::string& content, std::mt19937& rng) {
  UpstreamDotStuffer stuffer;
  std::vector<std::string_view> views;
  std::size_t pos = 0;
  while (pos < content.size()) {
    std::uniform_int_distribution<std::size_t> piece(0, std::min<std::size_t>(content.size() - pos, 7));
    const std::size_t n = piece(rng);
    stuffer.append_pieces(std::string_view(content).substr(pos, n), views);
    pos += n;
  }
  stuffer.finish_pieces(views);
  std::string out;
  for (std::string_view view : views) {
    // Every view points into the content or is one of the stuffer's own few bytes.
    const bool inside = view.data() >= content.data() && view.data() + view.size() <= content.data() + content.size();
    CHECK((inside || view == "." || view == "\r\n" || view == ".\r\n"));
    out += view;
  }
  return out;
}

std::string stuff(const std::string& content) {
  UpstreamDotStuffer stuffer;
  std::string out;
  stuffer.append(content, out);
  stuffer.finish(out);
  return out;
}

}  // namespace

TEST_SUITE("unit") {
  TEST_CASE("dot-stuffing known cases") {
    CHECK(stuff("") == ".\r\n");
    CHECK(stuff("a\r\n") == "a\r\n.\r\n");
    CHECK(stuff("a") == "a\r\n.\r\n");
    CHECK(stuff(".\r\n") == "..\r\n.\r\n");
    CHECK(stuff("x\r\n.\r\n") == "x\r\n..\r\n.\r\n");
    CHECK(stuff("x\r\n..y\r\n") == "x\r\n...y\r\n.\r\n");
    CHECK(stuff("x.\r\ny.z") == "x.\r\ny.z\r\n.\r\n");
    CHECK(stuff("x\n.y\r\n") == "x\n.y\r\n.\r\n");  // only CRLF ends a line
    CHECK(stuff("x\r.y\r\n") == "x\r.y\r\n.\r\n");
    CHECK(stuff("x\r\n.") == "x\r\n..\r\n.\r\n");
  }

  TEST_CASE("dot-stuffing split at every boundary equals the reference") {
    std::mt19937 rng(42);
    const char alphabet[] = {'.', '.', '\r', '\n', 'a', ' '};
    std::uniform_int_distribution<int> pick(0, sizeof(alphabet) - 1);
    std::uniform_int_distribution<int> length(0, 60);
    for (int round = 0; round < 3000; ++round) {
      std::string content;
      const int n = length(rng);
      for (int i = 0; i < n; ++i) content += alphabet[pick(rng)];
      const std::string expected = reference_stuff(content);
      CHECK(stuff(content) == expected);
      CHECK(stuff_in_pieces(content, rng) == expected);
      CHECK(stuff_as_views(content, rng) == expected);
    }
  }

  TEST_CASE("verbatim content (no line starts with a dot) gives what stuffing would, split anywhere") {
    std::mt19937 rng(7);
    const char alphabet[] = {'.', '\r', '\n', 'a', ' '};
    std::uniform_int_distribution<int> pick(0, sizeof(alphabet) - 1);
    std::uniform_int_distribution<int> length(0, 60);
    int tried = 0;
    for (int round = 0; round < 3000; ++round) {
      std::string content;
      const int n = length(rng);
      for (int i = 0; i < n; ++i) content += alphabet[pick(rng)];
      if (content.starts_with(".") || content.find("\r\n.") != std::string::npos) continue;  // not the promise
      ++tried;
      const std::string expected = reference_stuff("Received: x\r\n" + content);
      for (bool as_views : {false, true}) {
        UpstreamDotStuffer stuffer;
        std::string out;
        std::vector<std::string_view> views;
        if (as_views)
          stuffer.append_pieces("Received: x\r\n", views);
        else
          stuffer.append("Received: x\r\n", out);
        std::size_t pos = 0;
        while (pos < content.size()) {
          std::uniform_int_distribution<std::size_t> piece(1, std::min<std::size_t>(content.size() - pos, 7));
          const std::size_t k = piece(rng);
          if (as_views)
            stuffer.append_pieces_verbatim(std::string_view(content).substr(pos, k), views);
          else
            stuffer.append_verbatim(std::string_view(content).substr(pos, k), out);
          pos += k;
        }
        if (as_views) {
          stuffer.finish_pieces(views);
          for (std::string_view view : views) out += view;
        } else {
          stuffer.finish(out);
        }
        CHECK(out == expected);
      }
    }
    CHECK(tried > 500);
  }

  TEST_CASE("a stuffer is reusable after finish") {
    UpstreamDotStuffer stuffer;
    std::string out;
    stuffer.append("a", out);
    stuffer.finish(out);
    stuffer.append(".b\r\n", out);
    stuffer.finish(out);
    CHECK(out == "a\r\n.\r\n..b\r\n.\r\n");
  }

}  // TEST_SUITE
