#pragma once
// `dkim-relay keys export ...` and `keys import ...`: moving keys between a store and a directory
// store, a KEK-sealed bundle or OpenDKIM tables, with either backend on the store's side.
#include <string>
#include <vector>

#include "cli_args.hpp"
#include "keystore/directory_key_store.hpp"
#include "keystore/postgres_key_store.hpp"

namespace dkr::app {

// The store that --keystore / --config opened; exactly one of the pointers is set.
struct OpenedStore {
  keystore::DirectoryKeyStore* directory = nullptr;
  keystore::PostgresKeyStore* postgres = nullptr;
};

// words: "export" KIND WHERE, "import" KIND WHERE [WHERE]; the two legacy spellings
// "import-directory DIR" and "import-opendkim KEYTABLE SIGNINGTABLE" too. Returns the exit code.
int run_key_transfer(const OpenedStore& store, const std::vector<std::string>& words, const CliArgs& cli);

}  // namespace dkr::app
