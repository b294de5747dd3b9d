#pragma once
// Subcommands of the dkim-relay binary. Each takes the arguments after its own name.
#include <span>
#include <string_view>

namespace dkr::app {

using Args = std::span<const std::string_view>;

// Exit statuses of the `keys` subcommands (keys_command.cpp, key_transfer_command.cpp).
constexpr int kFailure = 1;
constexpr int kUsageError = 2;

int run_sign(Args args);           // sign_command.cpp
int run_verify(Args args);         // verify_command.cpp
int run_keys(Args args);           // keys_command.cpp
int run_serve(Args args);          // serve_command.cpp (also the default without a subcommand)
int run_db(Args args);             // db_command.cpp: db migrate
int run_hash_password(Args args);  // hash_password_command.cpp
int run_dns(Args args);            // dns_command.cpp: dns status, dns publish-check
int run_rewrap(std::string_view config_path, std::string_view old_kek_file, std::string_view new_kek_file);

}  // namespace dkr::app
