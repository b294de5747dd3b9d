#include "key_transfer_command.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <iostream>

#include "commands.hpp"
#include "keystore/key_transfer.hpp"
#include "keystore_backend.hpp"
#include "signer/signing_key.hpp"
#include "terminal_text.hpp"

namespace dkr::app {
namespace {

int transfer_failure(std::string_view message) {
  std::cerr << "keys: " << terminal_safe(message) << "\n";
  return kFailure;
}

int transfer_usage_error(std::string_view message) {
  std::cerr << "keys: " << terminal_safe(message) << "\n"
            << "usage: dkim-relay keys [--keystore DIR | --config FILE] export directory DIR\n"
            << "       dkim-relay keys [--keystore DIR | --config FILE] export bundle FILE --kek KEKFILE\n"
            << "       dkim-relay keys [--keystore DIR | --config FILE] import directory DIR\n"
            << "       dkim-relay keys [--keystore DIR | --config FILE] import bundle FILE --kek KEKFILE\n"
            << "       dkim-relay keys [--keystore DIR | --config FILE] import opendkim KEYTABLE SIGNINGTABLE\n";
  return kUsageError;
}

keystore::KeyImporter importer_of(keystore::KeyTransfer& transfer) {
  return [&transfer](std::string_view domain, const keystore::SelectorInfo& info, std::string_view pem) {
    return transfer.import_key(domain, info, pem);
  };
}

// The target holds this selector with the same key (its public half; a revoked selector publishes
// none, so there the state must match).
bool already_present(const keystore::KeyStore& target, const keystore::KeyMaterial& key) {
  auto existing = target.domain(key.domain);
  if (!existing) return false;
  for (const keystore::SelectorInfo& info : existing->selectors) {
    if (info.selector != key.info.selector) continue;
    if (info.state == keystore::KeyState::Revoked) return key.info.state == keystore::KeyState::Revoked;
    auto parsed = signer::SigningKey::from_pem(key.pem, signer::KeyPolicy{true});
    return parsed && parsed->dns_record() == info.dns_record;
  }
  return false;
}

// Stores every key through `into`, keeping states, timestamps and the domain's delegated flag. A
// selector the target already holds with the same public key counts as done (an import can be run
// again); any other failure is reported and makes the exit status 1.
int copy_keys(const std::vector<keystore::KeyMaterial>& keys, const keystore::KeyStore& target,
              keystore::KeyTransfer& into) {
  int copied = 0;
  int present = 0;
  int failed = 0;
  for (const keystore::KeyMaterial& key : keys) {
    auto done = into.import_key(key.domain, key.info, key.pem, key.delegated);
    if (done) {
      ++copied;
      std::cout << "imported " << key.domain << " " << done->selector << " (" << keystore::to_string(done->state)
                << ")\n";
      continue;
    }
    if (done.error().code == ErrorCode::conflict && already_present(target, key)) {
      ++present;
      std::cout << "already present " << key.domain << " " << key.info.selector << "\n";
      continue;
    }
    ++failed;
    std::cerr << "keys: " << terminal_safe(key.domain + " " + key.info.selector + ": " + done.error().message) << "\n";
  }
  std::cout << copied << " key(s) imported, " << failed << " failed";
  if (present > 0) std::cout << ", " << present << " already present";
  std::cout << "\n";
  return failed == 0 ? 0 : kFailure;
}

Result<keystore::Kek> bundle_kek(const CliArgs& cli) {
  const auto file = cli.value("kek");
  if (!file) return make_error(ErrorCode::invalid, "a bundle needs --kek KEKFILE (make one with keys new-kek)");
  return load_checked_kek("--kek", *file);
}

int run_export(keystore::KeyTransfer& transfer, const std::vector<std::string>& words, const CliArgs& cli) {
  if (words.size() != 3) return transfer_usage_error("export takes a kind (directory or bundle) and where to");
  const std::string& kind = words[1];
  const std::string& where = words[2];
  if (kind != "directory" && kind != "bundle")
    return transfer_usage_error("export to 'directory' or 'bundle', not '" + kind + "'");
  auto kek = kind == "bundle" ? bundle_kek(cli) : Result<keystore::Kek>(make_error("unused"));
  if (kind == "bundle" && !kek) return transfer_failure(kek.error().message);
  auto keys = transfer.export_keys();
  if (!keys) return transfer_failure(keys.error().message);
  if (kind == "bundle") {
    if (auto written = keystore::write_key_bundle(where, *keys, *kek); !written)
      return transfer_failure(written.error().message);
    std::cout << "wrote " << keys->size() << " key(s) to " << where << " (0600), sealed under " << *cli.value("kek")
              << "\n";
    return 0;
  }
  keystore::DirectoryKeyStoreOptions options;
  options.path = where;
  auto target = keystore::DirectoryKeyStore::open(options);
  if (!target) return transfer_failure(target.error().message);
  return copy_keys(*keys, **target, **target);
}

int run_import(const keystore::KeyStore& target, keystore::KeyTransfer& transfer, const std::vector<std::string>& words,
               const CliArgs& cli) {
  const std::string kind = words.size() > 1 ? words[1] : "";
  if (kind == "opendkim") {
    if (words.size() != 4) return transfer_usage_error("import opendkim takes KEYTABLE and SIGNINGTABLE");
    auto report = keystore::import_opendkim_tables(words[2], words[3], target, importer_of(transfer));
    if (!report) return transfer_failure(report.error().message);
    for (const auto& key : report->imported) {
      std::cout << "imported " << key.domain << " " << key.selector << " from " << key.source << "\n";
    }
    for (const auto& skipped : report->skipped) {
      std::cerr << "skipped " << terminal_safe(skipped.entry) << ": " << terminal_safe(skipped.reason) << "\n";
    }
    return report->imported.empty() && !report->skipped.empty() ? kFailure : 0;
  }
  if (words.size() != 3 || (kind != "directory" && kind != "bundle")) {
    return transfer_usage_error("import from 'directory DIR', 'bundle FILE' or 'opendkim KEYTABLE SIGNINGTABLE'");
  }
  Result<std::vector<keystore::KeyMaterial>> keys = make_error("unread");
  if (kind == "bundle") {
    auto kek = bundle_kek(cli);
    if (!kek) return transfer_failure(kek.error().message);
    keys = keystore::read_key_bundle(words[2], *kek);
  } else {
    keystore::DirectoryKeyStoreOptions options;
    options.path = words[2];
    std::error_code ec;
    if (!std::filesystem::is_directory(options.path, ec))
      return transfer_failure(words[2] + " is not a directory store");
    auto source = keystore::DirectoryKeyStore::open(options);
    if (!source) return transfer_failure(source.error().message);
    keys = (*source)->export_keys();
  }
  if (!keys) return transfer_failure(keys.error().message);
  return copy_keys(*keys, target, transfer);
}

}  // namespace

int run_key_transfer(const keystore::KeyStore& store, keystore::KeyTransfer& transfer,
                     const std::vector<std::string>& words, const CliArgs& cli) {
  const std::string& command = words.at(0);
  if (command == "export") return run_export(transfer, words, cli);
  if (command == "import") return run_import(store, transfer, words, cli);
  // The earlier spellings.
  std::vector<std::string> spelled = {"import", command == "import-directory" ? "directory" : "opendkim"};
  spelled.insert(spelled.end(), words.begin() + 1, words.end());
  return run_import(store, transfer, spelled, cli);
}

}  // namespace dkr::app
