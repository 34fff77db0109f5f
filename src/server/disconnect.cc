#include "server/disconnect.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace parley::server {
namespace {

// The request whose connection is to be cut, by address and peer: a request object lives on the
// worker's stack, so the address alone could match a later request of another connection.
struct Asked {
  const httplib::Request* request = nullptr;
  int remote_port = -1;
};
thread_local Asked asked;

// The address and port of a socket's end (getsockname or getpeername), as text and number.
bool EndOf(int fd, bool peer, std::string& address, int& port) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  auto* raw = reinterpret_cast<sockaddr*>(&storage);
  if ((peer ? getpeername(fd, raw, &length) : getsockname(fd, raw, &length)) != 0) return false;
  char text[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    port = ntohs(in->sin_port);
  } else if (storage.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    port = ntohs(in6->sin6_port);
  } else {
    return false;
  }
  address = text;
  return true;
}

// The socket carrying `request`: its TLS session's, or the one open socket whose two ends are
// the request's (a TCP connection is identified by them). -1 when none is found.
int SocketOf(const httplib::Request& request) {
  if (request.ssl != nullptr) return SSL_get_fd(request.ssl);
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    int fd = std::atoi(entry.path().filename().c_str());
    std::string address;
    int port = -1;
    if (!EndOf(fd, /*peer=*/true, address, port) || port != request.remote_port ||
        address != request.remote_addr) {
      continue;
    }
    if (EndOf(fd, /*peer=*/false, address, port) && port == request.local_port &&
        address == request.local_addr) {
      return fd;
    }
  }
  return -1;
}

}  // namespace

void DisconnectAfterAnswer(const httplib::Request& request) {
  asked = {&request, request.remote_port};
}

void DisconnectIfAsked(const httplib::Request& request) {
  if (asked.request != &request || asked.remote_port != request.remote_port) return;
  asked = {};
  int fd = SocketOf(request);
  // The answer is written: the client receives it, then the end of the connection. cpp-httplib's
  // next read sees the end too and closes the socket; data still arriving resets the connection.
  if (fd >= 0) shutdown(fd, SHUT_RDWR);
}

}  // namespace parley::server
