#pragma once
// How to reach the upstream MTA over SMTP. Its own header so that the pool and the connection
// need not include the SmtpUpstream they serve (the app maps its config onto these). The defaults
// repeat config/settings_table.hpp's; tests/app/runtime_settings_test.cpp keeps them equal.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace dkr::upstream {

enum class StartTlsPolicy {
  None,           // never use STARTTLS (AUTH is then allowed in clear text: an explicit choice)
  Opportunistic,  // use STARTTLS when offered; only its absence lets the session continue in clear
  Required,       // refuse to send mail unless STARTTLS succeeds
};

struct SmtpUpstreamSettings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 25;
  StartTlsPolicy starttls = StartTlsPolicy::Opportunistic;
  std::string ca_file;             // PEM bundle; empty means the system trust store
  bool verify_certificate = true;  // chain verification of the upstream's certificate
  bool verify_hostname = true;     // the certificate must name `host` (DNS name or IP address)
  std::string username;            // empty: no AUTH
  std::string password;
  std::string helo_name = "localhost";
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};  // resolve + TCP connect
  std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};   // each reply / write
  std::size_t pool_size = 4;                                            // idle connections kept
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};     // then QUIT
};

}  // namespace dkr::upstream
