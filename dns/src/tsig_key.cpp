#include "dns/tsig_key.hpp"

#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

namespace dkr::dns {
namespace {

// hmac-sha384 is left out: ldns 1.8 misspells its name when verifying replies ("hmac-shac384").
constexpr std::array<std::string_view, 2> kAlgorithms{"hmac-sha256", "hmac-sha512"};

struct Token {
  enum class Kind { Word, Quoted, Open, Close, Semicolon } kind;
  std::string text;
  int line;
};

Result<std::vector<Token>> tokenize(std::string_view text) {
  std::vector<Token> tokens;
  int line = 1;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      ++i;
    } else if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      ++i;
    } else if (c == '#' || text.substr(i, 2) == "//") {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (text.substr(i, 2) == "/*") {
      const auto end = text.find("*/", i + 2);
      if (end == std::string_view::npos) return make_error("line " + std::to_string(line) + ": unterminated comment");
      for (std::size_t j = i; j < end; ++j) line += text[j] == '\n' ? 1 : 0;
      i = end + 2;
    } else if (c == '"') {
      const auto end = text.find('"', i + 1);
      if (end == std::string_view::npos) return make_error("line " + std::to_string(line) + ": unterminated string");
      tokens.push_back({Token::Kind::Quoted, std::string(text.substr(i + 1, end - i - 1)), line});
      for (std::size_t j = i; j < end; ++j) line += text[j] == '\n' ? 1 : 0;
      i = end + 1;
    } else if (c == '{' || c == '}' || c == ';') {
      tokens.push_back({c == '{'   ? Token::Kind::Open
                        : c == '}' ? Token::Kind::Close
                                   : Token::Kind::Semicolon,
                        std::string(1, c), line});
      ++i;
    } else {
      const std::size_t start = i;
      while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])) == 0 && text[i] != '{' &&
             text[i] != '}' && text[i] != ';' && text[i] != '"') {
        ++i;
      }
      tokens.push_back({Token::Kind::Word, std::string(text.substr(start, i - start)), line});
    }
  }
  return tokens;
}

bool valid_base64(const std::string& text) {
  if (text.empty() || text.size() % 4 != 0) return false;
  std::vector<unsigned char> out(text.size());
  return EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                         static_cast<int>(text.size())) > 0;
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

Result<TsigKey> parse_tsig_key(std::string_view text) {
  auto tokens_or = tokenize(text);
  if (!tokens_or) return tokens_or.error();
  const std::vector<Token>& tokens = *tokens_or;
  std::size_t at = 0;
  const auto fail = [&](const std::string& what) -> Error {
    const int line = at < tokens.size() ? tokens[at].line : (tokens.empty() ? 1 : tokens.back().line);
    return make_error("line " + std::to_string(line) + ": " + what);
  };
  const auto expect = [&](Token::Kind kind) { return at < tokens.size() && tokens[at].kind == kind; };

  if (!(expect(Token::Kind::Word) && tokens[at].text == "key")) {
    return fail("expected a key statement: key \"NAME\" { algorithm hmac-sha256; secret \"...\"; };");
  }
  ++at;
  if (!(expect(Token::Kind::Quoted) || expect(Token::Kind::Word))) return fail("expected the key's name after `key`");
  TsigKey key;
  key.name = tokens[at++].text;
  while (!key.name.empty() && key.name.back() == '.') key.name.pop_back();
  if (key.name.empty()) return fail("the key's name is empty");
  if (!expect(Token::Kind::Open)) return fail("expected `{` after the key's name");
  ++at;
  bool has_secret = false;
  while (!expect(Token::Kind::Close)) {
    if (!expect(Token::Kind::Word)) return fail("expected `algorithm`, `secret` or `}`");
    const std::string clause = tokens[at++].text;
    if (clause == "algorithm") {
      if (!(expect(Token::Kind::Word) || expect(Token::Kind::Quoted))) return fail("expected an algorithm name");
      key.algorithm = lower(tokens[at++].text);
      if (key.algorithm.ends_with('.')) key.algorithm.pop_back();
      bool known = false;
      for (auto name : kAlgorithms) known = known || name == key.algorithm;
      if (!known) {
        --at;
        return fail("algorithm " + key.algorithm + " is not supported; use hmac-sha256 or hmac-sha512");
      }
    } else if (clause == "secret") {
      if (!expect(Token::Kind::Quoted)) return fail("expected the secret as a quoted base64 string");
      key.secret = tokens[at++].text;
      if (!valid_base64(key.secret)) {
        --at;
        return fail("the secret is not base64");  // never quoted: it is the secret
      }
      has_secret = true;
    } else {
      --at;
      return fail("unknown clause `" + clause + "` in the key statement");
    }
    if (!expect(Token::Kind::Semicolon)) return fail("expected `;`");
    ++at;
  }
  ++at;  // '}'
  if (!expect(Token::Kind::Semicolon)) return fail("expected `;` after `}`");
  ++at;
  if (key.algorithm.empty()) return fail("the key has no algorithm");
  if (!has_secret) return fail("the key has no secret");
  if (at != tokens.size()) return fail("more than one statement; the file must hold exactly one key");
  return key;
}

Result<TsigKey> read_tsig_key_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot read TSIG key file " + path.string() + ": " + std::strerror(errno));
  std::ostringstream contents;
  contents << in.rdbuf();
  auto key = parse_tsig_key(contents.str());
  if (!key) return make_error("TSIG key file " + path.string() + ": " + key.error().message);
  return key;
}

}  // namespace dkr::dns
