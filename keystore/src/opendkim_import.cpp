// Import of an OpenDKIM setup: KeyTable says where each key is, SigningTable which mail uses it.
// The same for both key stores: the store is read through KeyStore and written through `import`.
#include <openssl/crypto.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "durable_file.hpp"
#include "keystore/domain_name.hpp"
#include "keystore/key_transfer.hpp"

namespace dkr::keystore {
namespace {

struct KeyTableEntry {
  std::string location;  // "KeyTable:3"
  std::string domain;
  std::string selector;
  std::filesystem::path key_file;
};

struct TableLine {
  std::string location;
  std::string text;
  std::string key;
  std::string value;
};

// Non-empty, non-comment lines split into their first field and the rest.
Result<std::vector<TableLine>> read_table(const std::filesystem::path& file, std::string_view label) {
  auto content = read_file(file);
  if (!content) return content.error();
  std::vector<TableLine> lines;
  std::istringstream stream(*content);
  std::string line;
  for (int number = 1; std::getline(stream, line); ++number) {
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::istringstream fields(line);
    TableLine parsed;
    if (!(fields >> parsed.key)) continue;
    std::getline(fields >> std::ws, parsed.value);
    while (!parsed.value.empty() && std::isspace(static_cast<unsigned char>(parsed.value.back()))) {
      parsed.value.pop_back();
    }
    parsed.location = std::string(label) + ":" + std::to_string(number);
    parsed.text = parsed.key + (parsed.value.empty() ? "" : " " + parsed.value);
    lines.push_back(std::move(parsed));
  }
  return lines;
}

// "*@example.com" (refile) and "example.com" (plain lookup table) name a whole domain; anything
// else (single users, "*@*.example.com", ".example.com") has no per-domain equivalent here.
std::optional<std::string> signing_table_domain(std::string_view pattern) {
  if (pattern.starts_with("*@")) pattern.remove_prefix(2);
  if (pattern.find_first_of("*@") != std::string_view::npos || pattern.starts_with(".")) {
    return std::nullopt;
  }
  auto domain = normalize_domain(pattern);
  if (!domain) return std::nullopt;
  return *domain;
}

bool is_same_or_subdomain(std::string_view name, std::string_view parent) {
  return name == parent ||
         (name.size() > parent.size() && name.ends_with(parent) && name[name.size() - parent.size() - 1] == '.');
}

}  // namespace

Result<ImportReport> import_opendkim_tables(const std::filesystem::path& key_table,
                                            const std::filesystem::path& signing_table, const KeyStore& store,
                                            const KeyImporter& import) {
  auto key_lines = read_table(key_table, "KeyTable");
  if (!key_lines) return key_lines.error();
  auto signing_lines = read_table(signing_table, "SigningTable");
  if (!signing_lines) return signing_lines.error();

  ImportReport report;
  std::map<std::string, KeyTableEntry> keys;
  for (const TableLine& line : *key_lines) {
    const std::string where = line.location + ": " + line.text;
    const auto first = line.value.find(':');
    const auto second = first == std::string::npos ? first : line.value.find(':', first + 1);
    if (second == std::string::npos) {
      report.skipped.push_back({where, "expected 'name domain:selector:/path/to/key'"});
      continue;
    }
    auto domain = normalize_domain(line.value.substr(0, first));
    auto selector = normalize_selector(line.value.substr(first + 1, second - first - 1));
    if (!domain || !selector) {
      report.skipped.push_back({where, !domain ? domain.error().message : selector.error().message});
      continue;
    }
    const std::string path = line.value.substr(second + 1);
    if (path.empty() || path.find('%') != std::string::npos) {
      report.skipped.push_back({where, "key path must name one file ('%' expansion is not supported)"});
      continue;
    }
    keys[line.key] = KeyTableEntry{line.location, *domain, *selector, path};
  }

  std::set<std::string> used;
  std::vector<std::string> order;
  for (const TableLine& line : *signing_lines) {
    const std::string where = line.location + ": " + line.text;
    const auto domain = signing_table_domain(line.key);
    if (!domain) {
      report.skipped.push_back({where,
                                "only '*@domain' and 'domain' entries can be imported; the key store signs "
                                "per domain (and its subdomains), not per address pattern"});
      continue;
    }
    const auto key = keys.find(line.value);
    if (key == keys.end()) {
      report.skipped.push_back({where, "key name '" + line.value + "' is not in the KeyTable"});
      continue;
    }
    if (!is_same_or_subdomain(*domain, key->second.domain)) {
      report.skipped.push_back({where, "mail from " + *domain + " is signed as d=" + key->second.domain +
                                           "; the key store signs a domain only with its own or a parent's keys"});
      continue;
    }
    if (used.insert(line.value).second) order.push_back(line.value);
  }
  for (const auto& [name, entry] : keys) {
    if (!used.contains(name)) {
      report.skipped.push_back({entry.location + ": " + name, "not used by the SigningTable"});
    }
  }

  for (const std::string& name : order) {
    const KeyTableEntry& entry = keys.at(name);
    const std::string where = entry.location + ": " + name;
    if (auto existing = store.domain(entry.domain); existing) {
      const bool present = std::any_of(existing->selectors.begin(), existing->selectors.end(),
                                       [&](const SelectorInfo& info) { return info.selector == entry.selector; });
      if (present) {
        report.skipped.push_back(
            {where, "selector '" + entry.selector + "' of " + entry.domain + " is already in the key store"});
        continue;
      }
    }
    auto pem = read_file(entry.key_file);
    if (!pem) {
      report.skipped.push_back({where, pem.error().message});
      continue;
    }
    SelectorInfo info;
    info.selector = entry.selector;
    info.state = KeyState::Active;
    auto imported = import(entry.domain, info, *pem);
    OPENSSL_cleanse(pem->data(), pem->size());
    if (!imported) {
      report.skipped.push_back({where, entry.key_file.string() + ": " + imported.error().message});
      continue;
    }
    report.imported.push_back({entry.domain, entry.selector, entry.key_file.string()});
  }
  return report;
}

}  // namespace dkr::keystore
