// Cutting a connection once its answer is sent. cpp-httplib keeps a connection alive after any
// answer, and reads what follows as the next request: after a 411 or 413 whose body was never
// read, a client that goes on sending would have its bytes parsed as request after request (up
// to the keep-alive limit) and hold a worker all along. A handler that answers without reading
// the body asks for the cut; the server's logger, which cpp-httplib calls once the answer is
// written, performs it: the socket is shut down both ways, so the client gets the answer and
// then the end of the connection, and whatever it still sends resets it.
//
// Thread safety: both calls act on the calling thread's current request (cpp-httplib handles a
// connection on one worker thread from its first request to its close).
#pragma once

#include <httplib.h>

namespace parley::server {

// The connection of `request` is to be cut once its answer is written.
void DisconnectAfterAnswer(const httplib::Request& request);

// Called from the server's logger after each answer: cuts the connection if its handler asked.
void DisconnectIfAsked(const httplib::Request& request);

}  // namespace parley::server
