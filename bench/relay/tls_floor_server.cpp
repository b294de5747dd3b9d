// The floor of "STARTTLS, a connection per message" (not a test, not the relay): the least any
// relay must do for one such message, written as plainly as possible so that tls_bench.py can
// run the same clients against it and against dkim-relay in one run. Per connection it does only
// what the relay cannot skip: accept, the SMTP dialogue (one reply per command, as the client
// waits for each), STARTTLS with OpenSSL 3 (TLS 1.3, one session ticket, resumption), SHA-256 of
// the body, one RSA-2048 signature, and forwarding the message over a pooled upstream connection
// (STARTTLS once per thread, MAIL/RCPT/DATA pipelined, the body in one write), then the upstream's
// answer to the client. Blocking sockets, one upstream connection per thread, no parsing beyond
// finding line ends, no limits, no logging, no canonicalization, no spool: each thread sleeps in
// recv() when it waits, as an event loop sleeps in epoll_wait().
//
//   tls_floor_server PORT UPSTREAM_PORT DKIM_KEY.pem [--cert C --key K] [--upstream-tls] [--threads 2]
//
// Prints "ready" when it listens. Runs until killed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "tls_floor_server: %s\n", what);
  ERR_print_errors_fp(stderr);
  std::exit(1);
}

// One byte stream, plaintext until STARTTLS, then through an SSL object on the same descriptor.
class Stream {
 public:
  explicit Stream(int fd) : fd_(fd) {}
  ~Stream() {
    if (ssl_) SSL_free(ssl_);
    ::close(fd_);
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  bool start_tls(SSL_CTX* ctx, bool server) {
    ssl_ = SSL_new(ctx);
    if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) return false;
    return (server ? SSL_accept(ssl_) : SSL_connect(ssl_)) == 1;
  }
  bool write(std::string_view data) {
    while (!data.empty()) {
      long n = ssl_ ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                    : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // The next line (without CR LF), or false at end of stream.
  bool line(std::string& out) {
    for (;;) {
      if (auto end = buffered_.find("\r\n", start_); end != std::string::npos) {
        out.assign(buffered_, start_, end - start_);
        start_ = end + 2;
        return true;
      }
      if (!fill()) return false;
    }
  }
  // Reads through the end-of-data line; the bytes before it (dot-stuffed, as received) go to body.
  bool data(std::string& body) {
    body.assign(buffered_, start_);
    buffered_.clear();
    start_ = 0;
    for (std::size_t from = 0;;) {
      if (auto end = body.find("\r\n.\r\n", from); end != std::string::npos) {
        buffered_.assign(body, end + 5);  // pipelined commands after the dot
        body.resize(end + 2);
        return true;
      }
      from = body.size() > 4 ? body.size() - 4 : 0;
      char chunk[16384];
      long n = read_some(chunk, sizeof chunk);
      if (n <= 0) return false;
      body.append(chunk, static_cast<std::size_t>(n));
    }
  }
  // Reads a whole (possibly multi-line) SMTP reply; its code.
  int reply() {
    std::string text;
    for (;;) {
      if (!line(text) || text.size() < 3) return 0;
      if (text.size() == 3 || text[3] == ' ') return std::atoi(text.substr(0, 3).c_str());
    }
  }

 private:
  bool fill() {
    if (start_ > 0) {
      buffered_.erase(0, start_);
      start_ = 0;
    }
    char chunk[16384];
    long n = read_some(chunk, sizeof chunk);
    if (n <= 0) return false;
    buffered_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
  long read_some(char* to, std::size_t size) {
    return ssl_ ? SSL_read(ssl_, to, static_cast<int>(size)) : ::recv(fd_, to, size, 0);
  }

  int fd_;
  SSL* ssl_ = nullptr;
  std::string buffered_;
  std::size_t start_ = 0;
};

struct Options {
  int port = 0;
  int upstream_port = 0;
  std::string dkim_key, cert, key;
  bool upstream_tls = false;
  int threads = 2;
};

int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0) die("socket");
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return fd;  // the first read fails
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// The thread's pooled upstream connection: opened at its first message, opened again after a failure.
class Upstream {
 public:
  Upstream(const Options& o, SSL_CTX* client_ctx) : options_(o), client_ctx_(client_ctx) {}

  // The upstream's reply code to the whole transaction.
  int forward(const std::string& sender, const std::string& recipient, const std::string& header,
              const std::string& body) {
    if (!stream_ && !open()) return 451;
    out_.assign("MAIL FROM:" + sender + "\r\nRCPT TO:" + recipient + "\r\nDATA\r\n");
    int code = 451;
    if (stream_->write(out_) && stream_->reply() == 250 && stream_->reply() == 250 && stream_->reply() == 354) {
      out_.assign(header);
      out_ += body;
      out_ += ".\r\n";
      if (stream_->write(out_)) code = stream_->reply();
    }
    if (code == 0 || code == 451) stream_.reset();
    return code ? code : 451;
  }

 private:
  bool open() {
    auto stream = std::make_unique<Stream>(connect_loopback(options_.upstream_port));
    if (stream->reply() != 220 || !stream->write("EHLO floor.test\r\n") || stream->reply() != 250) return false;
    if (options_.upstream_tls &&
        (!stream->write("STARTTLS\r\n") || stream->reply() != 220 || !stream->start_tls(client_ctx_, false) ||
         !stream->write("EHLO floor.test\r\n") || stream->reply() != 250))
      return false;
    stream_ = std::move(stream);
    return true;
  }

  const Options& options_;
  SSL_CTX* client_ctx_;
  std::unique_ptr<Stream> stream_;
  std::string out_;
};

class Signer {
 public:
  explicit Signer(const std::string& pem) {
    FILE* f = std::fopen(pem.c_str(), "r");
    if (!f) die("cannot open the DKIM key");
    key_ = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (!key_) die("cannot read the DKIM key");
  }
  // SHA-256 of the body, then one RSA-2048 signature over a header block that carries it.
  std::string header_for(const std::string& body) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    EVP_Digest(body.data(), body.size(), digest, &digest_len, EVP_sha256(), nullptr);
    std::string signed_part = "from:x\r\nto:y\r\nsubject:z\r\ndkim-signature:v=1; a=rsa-sha256; bh=";
    signed_part.append(reinterpret_cast<const char*>(digest), digest_len);
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    unsigned char sig[512];
    std::size_t sig_len = sizeof sig;
    if (EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, key_) != 1 ||
        EVP_DigestSign(md, sig, &sig_len, reinterpret_cast<const unsigned char*>(signed_part.data()),
                       signed_part.size()) != 1)
      die("signing failed");
    EVP_MD_CTX_free(md);
    std::string header = "DKIM-Signature: v=1; a=rsa-sha256; b=";
    for (std::size_t i = 0; i < sig_len; ++i) header += static_cast<char>('A' + sig[i] % 26);
    return header + "\r\n";
  }

 private:
  EVP_PKEY* key_ = nullptr;
};

void serve_connection(int fd, SSL_CTX* server_ctx, Upstream& upstream, Signer& signer) {
  Stream client(fd);
  std::string line, sender, recipient, body;
  if (!client.write("220 floor.test ESMTP\r\n")) return;
  while (client.line(line)) {
    std::string_view verb(line.data(), std::min<std::size_t>(4, line.size()));
    bool ok = true;
    if (verb == "HELO")
      ok = client.write("250 floor.test\r\n");
    else if (verb == "EHLO")
      ok = client.write(server_ctx ? "250-floor.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
                                   : "250-floor.test\r\n250 PIPELINING\r\n");
    else if (verb == "STAR")
      ok = client.write("220 2.0.0 Ready to start TLS\r\n") && client.start_tls(server_ctx, true);
    else if (verb == "MAIL")
      sender = line.substr(10), ok = client.write("250 2.1.0 Ok\r\n");
    else if (verb == "RCPT")
      recipient = line.substr(8), ok = client.write("250 2.1.5 Ok\r\n");
    else if (verb == "DATA") {
      ok = client.write("354 End data with <CR><LF>.<CR><LF>\r\n") && client.data(body);
      if (ok) {
        int code = upstream.forward(sender, recipient, signer.header_for(body), body);
        ok = client.write(code == 250 ? "250 2.0.0 Ok: queued\r\n" : "451 4.4.0 Upstream failed\r\n");
      }
    } else if (verb == "RSET" || verb == "NOOP")
      ok = client.write("250 2.0.0 Ok\r\n");
    else if (verb == "QUIT") {
      client.write("221 2.0.0 Bye\r\n");
      return;
    } else
      ok = client.write("502 5.5.2 Error: command not recognized\r\n");
    if (!ok) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4)
    die("usage: tls_floor_server PORT UPSTREAM_PORT DKIM_KEY.pem [--cert C --key K] [--upstream-tls] [--threads N]");
  Options o;
  o.port = std::atoi(argv[1]);
  o.upstream_port = std::atoi(argv[2]);
  o.dkim_key = argv[3];
  for (int i = 4; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--cert" && i + 1 < argc)
      o.cert = argv[++i];
    else if (a == "--key" && i + 1 < argc)
      o.key = argv[++i];
    else if (a == "--upstream-tls")
      o.upstream_tls = true;
    else if (a == "--threads" && i + 1 < argc)
      o.threads = std::atoi(argv[++i]);
    else
      die("unknown argument");
  }
  SSL_CTX* server_ctx = nullptr;
  if (!o.cert.empty()) {
    server_ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(server_ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(server_ctx, o.cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(server_ctx, o.key.c_str(), SSL_FILETYPE_PEM) != 1)
      die("cannot load the certificate");
    SSL_CTX_set_num_tickets(server_ctx, 1);  // as the relay: one ticket per handshake
  }
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());  // the upstream's certificate is not checked

  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(static_cast<std::uint16_t>(o.port));
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0 || ::listen(listener, 1024) != 0)
    die("cannot listen");

  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t)
    threads.emplace_back([&] {
      Upstream upstream(o, client_ctx);
      Signer signer(o.dkim_key);
      for (;;) {
        int fd = ::accept(listener, nullptr, nullptr);
        if (fd < 0) continue;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        serve_connection(fd, server_ctx, upstream, signer);
      }
    });
  std::printf("ready\n");
  std::fflush(stdout);
  for (auto& t : threads) t.join();
}
